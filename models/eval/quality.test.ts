import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Renderer } from '../../simulator/render/renderer.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import { type MomentSnapshot, runRenderer, sampleRun } from '../data/run.ts';
import { DETECTOR_CLASSES } from '../data/sample.ts';
import { momentMainStream } from '../data/scenes.ts';
import { novelProducts, storeVariant } from '../data/variants.ts';
import type {
  ClassifierModel,
  DetectorModel,
  EmbeddingModel,
  HeldItemModel,
  RawImage,
} from '../runtime/index.ts';
import { findManifest, loadClassifier, loadDetector, loadEmbedder, loadHeldItem } from '../runtime/index.ts';
import type { DetectorSample } from './dataset.ts';
import { EVAL_SCORE_THRESHOLD, evaluateClassifier, evaluateDetector, evaluateReid } from './evaluate.ts';

/**
 * The shipped models against frames rendered now, from a simulation seed that no dataset split
 * uses, in the reference store, through the loader: they must do as well as the test-split figures
 * their manifests record (`npm run models:eval -- --write`), within the sampling error of a few
 * hundred objects. This catches a loader or preprocessing that drifts from training, a stale
 * model, and figures in a manifest that the model does not earn. Whether those figures meet the
 * issue's targets is reported by `npm run models:eval` (TARGETS), not asserted here.
 */
const SEED = 4242;
// Re-id scores only crops that show the head: 14 moments give the fresh sample 100 or more queries.
const MOMENTS = 14;
/**
 * Fresh frames hold a few hundred objects per class, from one store and scenario: allow this much
 * below the recorded figure (a loader that drifts from training scores near zero).
 */
const TOLERANCE = 0.1;
/**
 * Items in hands through both stages: a couple of hundred in the fresh frames, all in the crowded
 * reference store, which is harder than the test split's mix (0.61 here against 0.71 over the
 * split for the models of 2026-12-03). The frames are seeded, so this is a fixed margin, not a
 * flaky one; a loader that drifted would still score near zero.
 */
const ITEM_TOLERANCE = 0.15;

interface Recorded {
  map50?: Record<string, number | null>;
  heldItem?: { oneStage?: { ap50?: number | null } } | null;
  top1?: number;
  falseReject?: number;
  unknownRejection?: number;
  rank1?: number;
}

function recorded(model: {
  manifest: { metrics?: Record<string, unknown> | undefined; path: string };
}): Recorded {
  const m = model.manifest.metrics;
  if (!m) throw new Error(`${model.manifest.path} records no metrics: run npm run models:eval -- --write`);
  return m as Recorded;
}
const manifests = {
  detector: findManifest('detector'),
  classifier: findManifest('classifier'),
  embedding: findManifest('embedding'),
  heldItem: findManifest('held-item'),
};
const shipped = Object.values(manifests).every((p) => p !== null);

interface Fresh {
  frames: DetectorSample[];
  items: { image: RawImage; label: number }[];
  persons: { image: RawImage; id: number; camera: number; scene: number; head: 0 | 1 }[];
  skus: string[];
}

async function renderFresh(): Promise<Fresh> {
  const loaded = loadScenario('crowded');
  const novel = novelProducts(loaded.catalog, 12, SEED);
  const fresh: Fresh = { frames: [], items: [], persons: [], skus: loaded.catalog.items.map((i) => i.sku) };
  const ids = new Map<string, number>();
  let scene = -1;
  let moment: MomentSnapshot | null = null;
  const img = (rgb: Uint8Array, size: number): RawImage => ({ rgb, width: size, height: size });
  const plan = { seed: SEED, variant: storeVariant(loaded.layout, loaded.catalog, 0) };
  // The held-item model may read the main stream: the same renderer draws it again on request.
  let renderer: Renderer | null = null;
  const mainStreamRenderer = () => {
    renderer ??= runRenderer(plan, loaded.catalog, novel);
    return renderer;
  };
  await sampleRun(
    { ...plan, scenario: loaded, moments: MOMENTS },
    loaded.catalog,
    novel,
    {
      momentEveryS: 4,
      warmUpPersons: 16,
      warmUpMaxS: 150,
      detectorFramesPerMoment: 8,
      heldItemShare: 0.5,
      itemCropsPerFrame: 10,
      novelShare: 0.25,
      cropPx: 64,
    },
    {
      snapshot: (m) => {
        moment = m;
      },
      detector: (hwc, boxes, cameraId) =>
        fresh.frames.push({
          image: { rgb: Uint8Array.from(hwc), width: 640, height: 480 },
          mainStream: momentMainStream(mainStreamRenderer, cameraId, moment!, { width: 640, height: 480 }),
          boxes: boxes.map(([classIndex, x, y, w, h, visibility]) => ({
            classIndex,
            x,
            y,
            w,
            h,
            visibility,
          })),
        }),
      item: (hwc, label) => fresh.items.push({ image: img(hwc, 64), label }),
      person: (hwc, key, camera, headInView) => {
        if (!ids.has(key)) ids.set(key, ids.size);
        fresh.persons.push({
          image: img(hwc, 64),
          id: ids.get(key)!,
          camera,
          scene,
          head: headInView ? 1 : 0,
        });
      },
      scene: () => {
        scene++;
      },
      moment: () => {},
    },
  );
  return fresh;
}

describe.skipIf(!shipped)(
  'shipped models on freshly rendered frames (skipped: models not trained yet)',
  () => {
    let fresh: Fresh;
    let detector: DetectorModel;
    let classifier: ClassifierModel;
    let reid: EmbeddingModel;
    let heldItem: HeldItemModel;

    beforeAll(async () => {
      [fresh, detector, classifier, reid, heldItem] = await Promise.all([
        renderFresh(),
        loadDetector(manifests.detector!, { scoreThreshold: EVAL_SCORE_THRESHOLD, workers: 1 }),
        loadClassifier(manifests.classifier!),
        loadEmbedder(manifests.embedding!),
        loadHeldItem(manifests.heldItem!, { scoreThreshold: EVAL_SCORE_THRESHOLD }),
      ]);
    }, 180_000);

    afterAll(async () => {
      await Promise.all([detector?.close(), classifier?.close(), reid?.close(), heldItem?.close()]);
    });

    it('the detector and the held-item model find people, heads, hands and items in hands as well as the manifest says', async () => {
      const result = await evaluateDetector(
        detector,
        { classes: DETECTOR_CLASSES, count: fresh.frames.length, sample: async (i) => fresh.frames[i]! },
        { heldItem },
      );
      const claimed = recorded(detector);
      for (const cls of DETECTOR_CLASSES) {
        expect(result.perClass[cls]!.gt, `${cls} ground truth in the fresh frames`).toBeGreaterThan(20);
        expect(result.map50[cls] ?? 0, `${cls} AP@0.5`).toBeGreaterThanOrEqual(
          (claimed.map50?.[cls] ?? 1) - (cls === 'item' ? ITEM_TOLERANCE : TOLERANCE),
        );
      }
      expect(result.heldItem!.oneStage.ap50 ?? 0, "the detector's own item AP@0.5").toBeGreaterThanOrEqual(
        (claimed.heldItem?.oneStage?.ap50 ?? 1) - TOLERANCE,
      );
      // Each proposal's window is drawn again from the scene at twice the detect stream's
      // resolution, as a camera's main stream would serve it: about 0.3 s of rendering a frame.
    }, 240_000);

    it('the classifier names held items and turns away products it never saw, as its manifest says', async () => {
      const result = await evaluateClassifier(classifier, {
        skus: fresh.skus,
        labels: fresh.items.map((c) => c.label),
        count: fresh.items.length,
        crop: async (i) => fresh.items[i]!.image,
      });
      expect(result.known).toBeGreaterThan(150);
      expect(result.novel).toBeGreaterThan(40);
      const claimed = recorded(classifier);
      expect(result.top1).toBeGreaterThanOrEqual((claimed.top1 ?? 1) - TOLERANCE);
      expect(result.falseReject).toBeLessThanOrEqual((claimed.falseReject ?? 0) + TOLERANCE);
      expect(result.unknownRejection).toBeGreaterThanOrEqual((claimed.unknownRejection ?? 1) - TOLERANCE);
    });

    it('the re-id embedding matches a shopper across cameras as well as its manifest says', async () => {
      const result = await evaluateReid(reid, {
        ids: fresh.persons.map((p) => p.id),
        cameras: fresh.persons.map((p) => p.camera),
        scenes: fresh.persons.map((p) => p.scene),
        heads: fresh.persons.map((p) => p.head),
        count: fresh.persons.length,
        crop: async (i) => fresh.persons[i]!.image,
      });
      expect(result.queries).toBeGreaterThan(100);
      expect(result.rank1).toBeGreaterThanOrEqual((recorded(reid).rank1 ?? 1) - TOLERANCE);
    });
  },
);
