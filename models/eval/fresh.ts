import type { Renderer } from '../../simulator/render/renderer.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import { type MomentSnapshot, runRenderer, sampleRun } from '../data/run.ts';
import { momentMainStream } from '../data/scenes.ts';
import { novelProducts, storeVariant } from '../data/variants.ts';
import type { RawImage } from '../runtime/index.ts';
import type { DetectorSample } from './dataset.ts';

/**
 * Test support: frames rendered now, from a simulation seed that no dataset split uses, in the
 * reference store's crowded scenario, for quality.test.ts and the bootstrap that sized its
 * floors (quality-bootstrap.ts). Each sample carries its moment (`scene`), the unit the bootstrap
 * resamples: the frames of one moment show the same shoppers and are not independent.
 */
export const FRESH_SEED = 4242;
// Re-id scores only crops that show the head: 14 moments give the fresh sample 100 or more queries.
export const FRESH_MOMENTS = 14;

export interface Fresh {
  frames: (DetectorSample & { scene: number })[];
  items: { image: RawImage; label: number; scene: number }[];
  persons: { image: RawImage; id: number; camera: number; scene: number; head: 0 | 1 }[];
  skus: string[];
}

export async function renderFresh(): Promise<Fresh> {
  const loaded = loadScenario('crowded');
  const novel = novelProducts(loaded.catalog, 12, FRESH_SEED);
  const fresh: Fresh = { frames: [], items: [], persons: [], skus: loaded.catalog.items.map((i) => i.sku) };
  const ids = new Map<string, number>();
  let scene = -1;
  let moment: MomentSnapshot | null = null;
  const img = (rgb: Uint8Array, size: number): RawImage => ({ rgb, width: size, height: size });
  const plan = { seed: FRESH_SEED, variant: storeVariant(loaded.layout, loaded.catalog, 0) };
  // The held-item model may read the main stream: the same renderer draws it again on request.
  let renderer: Renderer | null = null;
  const mainStreamRenderer = () => {
    renderer ??= runRenderer(plan, loaded.catalog, novel);
    return renderer;
  };
  await sampleRun(
    { ...plan, scenario: loaded, moments: FRESH_MOMENTS },
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
          scene,
        }),
      item: (hwc, label) => fresh.items.push({ image: img(hwc, 64), label, scene }),
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
