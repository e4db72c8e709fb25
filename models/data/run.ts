import type { Catalog, CatalogItem } from '../../proto/index.ts';
import { Rng } from '../../simulator/core/rng.ts';
import { createOfflineApp } from '../../simulator/io/offline-app.ts';
import { createRenderer, type Renderer } from '../../simulator/render/renderer.ts';
import type { Label } from '../../simulator/render/types.ts';
import { Engine } from '../../simulator/run/engine.ts';
import type { LoadedScenario } from '../../simulator/scenario/load.ts';
import type { Person } from '../../simulator/world/types.ts';
import {
  cameraFrame,
  DETECTOR_CLASSES,
  itemCrop,
  personCrops,
  type SampledFrame,
  shownBox,
  visibleItems,
  withHeldItems,
} from './sample.ts';
import type { StoreVariant } from './variants.ts';
import type { BoxRow } from './writers.ts';

/** One simulation of one store variant, sampled at regular moments once the store has filled. */
export interface RunPlan {
  seed: number;
  scenario: LoadedScenario;
  variant: StoreVariant;
  moments: number;
}

export interface RunSettings {
  /** Simulated seconds between sampled moments: long enough that people have moved on. */
  momentEveryS: number;
  /** Sampling starts once this many people are in view, or after warmUpMaxS. */
  warmUpPersons: number;
  warmUpMaxS: number;
  /** Detect-stream frames kept per moment (of the store's cameras, chosen at random). */
  detectorFramesPerMoment: number;
  /** Share of empty hands given a random product (see withHeldItems). */
  heldItemShare: number;
  /** Item crops per camera frame, at most. */
  itemCropsPerFrame: number;
  /** Share of item crops re-rendered with a product the catalogue does not have (0 for training). */
  novelShare: number;
  cropPx: number;
}

export interface RunOutput {
  /** A detector frame of `cameraId`, taken at the moment last passed to snapshot(). */
  detector(hwc: Uint8Array, boxes: BoxRow[], cameraId: string): void;
  /**
   * The people of a sampled moment, as drawn (held items included), before its frames: enough to
   * draw any region of those frames again (models/data/scenes.ts), e.g. from the main stream.
   */
  snapshot(moment: MomentSnapshot): void;
  item(hwc: Uint8Array, label: number): void;
  person(hwc: Uint8Array, personKey: string, cameraIndex: number, headInView: boolean): void;
  /** A new scene (a moment of one run) begins: queries and gallery of re-id share a scene. */
  scene(): void;
  moment(done: number, total: number): void;
}

export interface MomentSnapshot {
  tsMs: number;
  frameIndex: number;
  persons: Person[];
}

/** How a run's renderer was made, so that scenes.ts can make the same one again. */
export function runRenderer(
  plan: Pick<RunPlan, 'seed' | 'variant'>,
  catalog: Catalog,
  novel: readonly CatalogItem[],
): Renderer {
  return createRenderer({
    layout: plan.variant.layout,
    catalog: { ...catalog, items: [...catalog.items, ...novel] },
    seed: plan.seed,
    lightingVariation: plan.variant.lightingVariation,
    noiseSd: plan.variant.noiseSd,
    visibleBoxes: true,
    inFrameShares: true,
  });
}

const CLASS_INDEX = new Map<string, number>(DETECTOR_CLASSES.map((c, i) => [c, i]));
const STEP_MS = 50;
/** Items too small on the detect stream to crop (the detector's own floor). */
const ITEM_MIN_SIDE_PX = 3;
const ITEM_MIN_VISIBILITY = 0.5;
const CROP_JITTER = 0.15;

export async function sampleRun(
  plan: RunPlan,
  catalog: Catalog,
  novel: readonly CatalogItem[],
  s: RunSettings,
  out: RunOutput,
): Promise<void> {
  const { layout } = plan.variant;
  const rng = Rng.stream(plan.seed, 'models:sample');
  const app = createOfflineApp(layout.storeId, `data-${plan.seed}`);
  const engine = new Engine({
    layout,
    catalog,
    scenario: plan.scenario.scenario,
    seed: plan.seed,
    app,
    authority: { kind: 'local', verify: app.verify },
    minutes: Math.ceil((s.warmUpMaxS + plan.moments * s.momentEveryS) / 60) + 1,
  });
  const renderer = runRenderer(plan, catalog, novel);
  const skus = catalog.items.map((i) => i.sku);
  const skuIndex = new Map(skus.map((sku, i) => [sku, i]));
  const cameras = layout.cameras.map((c) => c.id);
  const startMs = engine.clock.nowMs();
  const stepFor = (seconds: number) => {
    const until = engine.clock.nowMs() + seconds * 1000;
    while (engine.clock.nowMs() < until && !engine.done()) engine.step();
  };
  while (
    engine.persons().length < s.warmUpPersons &&
    engine.clock.nowMs() - startMs < s.warmUpMaxS * 1000 &&
    !engine.done()
  )
    engine.step();

  for (let m = 0; m < plan.moments; m++) {
    const tsMs = engine.clock.nowMs();
    const frameIndex = Math.round((tsMs - startMs) / STEP_MS);
    const persons = withHeldItems(engine.persons(), rng, skus, s.heldItemShare, `m${m}`);
    const keep = new Set(shuffled(rng, cameras).slice(0, s.detectorFramesPerMoment));
    out.scene();
    out.snapshot({ tsMs, frameIndex, persons });
    for (const [cameraIndex, cameraId] of cameras.entries()) {
      const frame = await cameraFrame(renderer, cameraId, persons, tsMs, frameIndex);
      if (keep.has(cameraId)) out.detector(frame.image.rgb, boxRows(frame), cameraId);
      for (const crop of await personCrops(frame, s.cropPx))
        out.person(crop.hwc, `${plan.seed}:${crop.personId}`, cameraIndex, crop.headInView);
      const items = shuffled(rng, visibleItems(frame.labels, ITEM_MIN_VISIBILITY, ITEM_MIN_SIDE_PX));
      for (const item of items.slice(0, s.itemCropsPerFrame)) {
        const asNovel = novel.length > 0 && rng.chance(s.novelShare);
        const sku = asNovel ? rng.pick(novel).sku : item.sku!;
        const scene = asNovel ? swapHeld(persons, item, sku) : persons;
        const hwc = await itemCrop(
          renderer,
          cameraId,
          scene,
          tsMs,
          frameIndex,
          item,
          s.cropPx,
          rng,
          CROP_JITTER,
        );
        out.item(hwc, asNovel ? -1 : skuIndex.get(sku)!);
      }
    }
    out.moment(m + 1, plan.moments);
    stepFor(s.momentEveryS);
  }
}

/**
 * The detector learns visible boxes, as COCO and Ultralytics models draw them: guessing where an
 * item half hidden by an arm ends is noise at 10 px, and the classifier needs what shows. Its
 * visibility is the share of the whole object the camera shows, as MOTChallenge counts it: hidden
 * by something in front or cut off by the frame's edge. A shoulder at the edge of the frame,
 * fully in view but a tenth of its person, is then an ignore region like a person nine-tenths
 * hidden; another camera of the rig sees that person whole.
 */
function boxRows(frame: SampledFrame): BoxRow[] {
  return frame.labels.map((l) => {
    const b = shownBox(l);
    const shown = Math.round(l.visibility * (l.inFrame ?? 1) * 10000) / 10000;
    return [CLASS_INDEX.get(l.kind)!, b.x, b.y, b.w, b.h, shown];
  });
}

/** The same moment with one held item replaced by another product. */
function swapHeld(persons: readonly Person[], item: Label, sku: string): Person[] {
  return persons.map((p) => {
    if (p.personId !== item.personId) return p;
    const hands = p.hands.map((h) => ({
      ...h,
      holding: h.holding.map((u) => (u.itemId === item.itemId ? { ...u, sku } : u)),
    })) as Person['hands'];
    return { ...p, hands };
  });
}

function shuffled<T>(rng: Rng, list: readonly T[]): T[] {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
