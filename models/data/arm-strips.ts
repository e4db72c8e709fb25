/**
 * The arm-link model's strips (models/runtime/arm-link.ts), drawn from a simulation of a store and
 * labelled from the simulator's truth: for every visible hand and every visible head within the
 * model's reach in a frame, the strip from the hand towards the head, and whether both are one
 * person. Frames are drawn every 0.2 s while a shopper reaches into a shelf with someone else within
 * 1.5 m (the case the model is for), else one camera every 1.5 s; strips of hands not at a shelf are
 * kept at random (`keep`), as they are most of a frame's. Centres are moved by up to 2 px, as a
 * detector's boxes are. The CLI that writes them for training is arm-pairs.ts.
 */
import { Rng } from '../../simulator/core/rng.ts';
import { createOfflineApp } from '../../simulator/io/offline-app.ts';
import { createRenderer } from '../../simulator/render/renderer.ts';
import type { Label } from '../../simulator/render/types.ts';
import { Engine } from '../../simulator/run/engine.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import type { Person } from '../../simulator/world/types.ts';
import { type ArmPair, armReachPx, armStrip } from '../runtime/arm-link.ts';
import { decodeJpeg, type RawImage } from '../runtime/preprocess.ts';

/** The shipped model's input (models/arm-link/manifest.json). */
export const STRIP = { width: 160, height: 48, handAtPx: 16 } as const;
const REACH_PX = armReachPx(STRIP.width, STRIP.handAtPx);
const HOT_EVERY_MS = 200;
const QUIET_EVERY_MS = 1500;
const NEIGHBOUR_M = 1.5;
const JITTER_PX = 2;

export interface ArmPlan {
  scenario: string;
  seed: number;
  minutes: number;
}

export function parsePlans(text: string): ArmPlan[] {
  return text.split(',').flatMap((part) => {
    const m = /^([\w-]+):(\d+)(?:-(\d+))?:(\d+(?:\.\d+)?)$/.exec(part.trim());
    if (!m) throw new Error(`--plans: "${part}" is not scenario:seed[-seed]:minutes`);
    const [a, b] = [Number(m[2]), Number(m[3] ?? m[2])];
    return Array.from({ length: b - a + 1 }, (_, i) => ({
      scenario: m[1]!,
      seed: a + i,
      minutes: Number(m[4]),
    }));
  });
}

const centre = (l: Label, rng: Rng): [number, number] => {
  const b = l.visibleBox!;
  return [b.x + b.w / 2 + rng.range(-JITTER_PX, JITTER_PX), b.y + b.h / 2 + rng.range(-JITTER_PX, JITTER_PX)];
};

/** One strip and what it shows. */
export interface ArmStrip {
  strip: Uint8Array;
  /** The frame it was cut from and the pair's points there, for the loader to cut it again. */
  frame: RawImage;
  pair: ArmPair;
  /** The hand and the head are one person's. */
  same: boolean;
  /** The hand is in a plate's volume (at a shelf). */
  reaching: boolean;
  /** Hand to head, frame pixels. */
  px: number;
  handPx: number;
  /** A frame drawn while someone reached beside another shopper. */
  hot: boolean;
  /** The hand's key: frame, camera, person, which hand. */
  hand: string;
}

export async function* armStrips(plan: ArmPlan, keep: number): AsyncGenerator<ArmStrip> {
  const loaded = loadScenario(plan.scenario);
  // The stream and app names of the shipped model's strips, drawn first by a prototype of this file.
  const app = createOfflineApp(loaded.layout.storeId, `pair-${plan.seed}`);
  const engine = new Engine({
    layout: loaded.layout,
    catalog: loaded.catalog,
    scenario: loaded.scenario,
    seed: plan.seed,
    app,
    authority: { kind: 'local', verify: app.verify },
    minutes: plan.minutes,
  });
  const renderer = createRenderer({
    layout: loaded.layout,
    catalog: loaded.catalog,
    seed: plan.seed,
    lightingVariation: loaded.scenario.cameras.lightingVariation,
    noiseSd: loaded.scenario.cameras.noiseSd,
    visibleBoxes: true,
  });
  const rng = Rng.stream(plan.seed, 'pairs');
  const cameras = loaded.layout.cameras.map((c) => c.id);
  let nextMs = engine.clock.nowMs();
  let frameIndex = 0;
  while (!engine.done()) {
    engine.step();
    const now = engine.clock.nowMs();
    if (now < nextMs) continue;
    const persons = engine.persons().filter((p) => p.present);
    const hot = persons.some((p) => p.hands.some((h) => h.onPlateId) && hasNeighbour(p, persons));
    nextMs = now + (hot ? HOT_EVERY_MS : QUIET_EVERY_MS);
    frameIndex++;
    for (const cameraId of hot ? cameras : [rng.pick(cameras)]) {
      const frame = renderer.render(cameraId, persons, now, frameIndex);
      const labels = frame.labels.labels;
      const img = await decodeJpeg(await renderer.encodeJpeg(frame.rgb, frame.width, frame.height));
      const heads = labels.filter((l) => l.kind === 'head' && l.visibility >= 0.3 && l.visibleBox);
      for (const l of labels) {
        if (l.kind !== 'hand' || !l.visibleBox || l.visibility < 0.4) continue;
        const owner = persons.find((p) => p.personId === l.personId);
        const reaching = Boolean(owner?.hands[l.hand ?? 0]?.onPlateId);
        const hand = centre(l, rng);
        for (const h of heads) {
          const head = centre(h, rng);
          const px = Math.hypot(head[0] - hand[0], head[1] - hand[1]);
          if (px > REACH_PX || (!reaching && !rng.chance(keep))) continue;
          yield {
            strip: armStrip(img, { hand, head }, STRIP.width, STRIP.height, STRIP.handAtPx),
            frame: img,
            pair: { hand, head },
            same: h.personId === l.personId,
            reaching,
            px,
            handPx: Math.max(l.visibleBox.w, l.visibleBox.h),
            hot,
            hand: `${frameIndex}-${cameraId}-${l.personId}-${l.hand}`,
          };
        }
      }
    }
  }
}

function hasNeighbour(p: Person, persons: readonly Person[]): boolean {
  return persons.some(
    (q) => q !== p && Math.hypot(q.posM[0] - p.posM[0], q.posM[1] - p.posM[1]) < NEIGHBOUR_M,
  );
}
