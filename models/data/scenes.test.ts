import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenario } from '../../simulator/scenario/load.ts';
import type { Person } from '../../simulator/world/types.ts';
import { type DatasetMeta, openDetectorSplit } from '../eval/dataset.ts';
import type { RawImage } from '../runtime/preprocess.ts';
import { runRenderer, sampleRun } from './run.ts';
import { openScenes } from './scenes.ts';
import { storeVariant } from './variants.ts';
import { DetectorWriter } from './writers.ts';

/**
 * A frame drawn again from the moment the dataset recorded must be the frame the dataset holds:
 * the held-item model trains and is scored on main-stream windows drawn this way, so a wrong
 * person, time, camera or renderer setting would teach it boxes that are not there.
 */
const dir = mkdtempSync(join(tmpdir(), 'walkout-scenes-'));
const loaded = loadScenario('crowded');
const variant = storeVariant(loaded.layout, loaded.catalog, 2);
let meta: DatasetMeta;

beforeAll(async () => {
  const det = new DetectorWriter(join(dir, 'detector', 'test'));
  await sampleRun(
    { seed: 31, scenario: loaded, variant, moments: 2 },
    loaded.catalog,
    [],
    {
      momentEveryS: 4,
      warmUpPersons: 6,
      warmUpMaxS: 90,
      detectorFramesPerMoment: 3,
      heldItemShare: 0.7,
      itemCropsPerFrame: 0,
      novelShare: 0,
      cropPx: 64,
    },
    {
      detector: (hwc, boxes, cameraId) => det.append(hwc, boxes, cameraId),
      snapshot: (moment) => det.scene(0, moment),
      item: () => {},
      person: () => {},
      scene: () => {},
      moment: () => {},
    },
  );
  det.close();
  meta = {
    version: 2,
    detector: { classes: ['person', 'head', 'hand', 'item'], width: 640, height: 480 },
    classifier: { size: 64, skus: ['x'], novelSkus: [] },
    reid: { size: 64 },
    splits: { test: { runs: [{ seed: 31, variant: 2, scenario: 'crowded' }], novel: null } },
  };
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const meanAbsDiff = (a: Uint8Array, b: Uint8Array) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
};

describe('frames drawn again from their recorded moment', () => {
  it('match the stored frame, people included, for every frame of the split', async () => {
    const data = openDetectorSplit(dir, 'test', meta);
    const scenes = openScenes(dir, 'test', meta, data.origins);
    expect(data.count).toBe(6);
    let labelled = 0;
    try {
      for (let i = 0; i < data.count; i++) {
        const { image, boxes } = await data.sample(i);
        const again = (await scenes.mainStream(i).region({ x: 0, y: 0, w: 640, h: 480 }, 1)) as RawImage;
        expect([again.width, again.height]).toEqual([640, 480]);
        // Two JPEG qualities of one render differ by a level or two; another frame, by tens.
        expect(meanAbsDiff(again.rgb, image.rgb), `frame ${i}`).toBeLessThan(3);
        if (i > 0) expect(meanAbsDiff(again.rgb, (await data.sample(i - 1)).image.rgb)).toBeGreaterThan(5);
        labelled += boxes.length;
      }
      expect(labelled, 'people in the frames compared').toBeGreaterThan(10);
    } finally {
      await data.close();
    }
  });

  it('draws a region at twice the resolution where the frame has it', async () => {
    const data = openDetectorSplit(dir, 'test', meta);
    const scenes = openScenes(dir, 'test', meta, data.origins);
    try {
      const { image } = await data.sample(0);
      const region = (await scenes.mainStream(0).region({ x: 200, y: 100, w: 40, h: 30 }, 2)) as RawImage;
      expect([region.width, region.height]).toEqual([80, 60]);
      // Averaged 2×2, the region is the frame's pixels there.
      const down = new Uint8Array(40 * 30 * 3);
      for (let y = 0; y < 30; y++)
        for (let x = 0; x < 40; x++)
          for (let c = 0; c < 3; c++) {
            let s = 0;
            for (const [dx, dy] of [
              [0, 0],
              [1, 0],
              [0, 1],
              [1, 1],
            ])
              s += region.rgb[((2 * y + dy!) * 80 + 2 * x + dx!) * 3 + c]!;
            down[(y * 40 + x) * 3 + c] = s / 4;
          }
      const crop = new Uint8Array(40 * 30 * 3);
      for (let y = 0; y < 30; y++)
        crop.set(image.rgb.subarray(((100 + y) * 640 + 200) * 3, ((100 + y) * 640 + 240) * 3), y * 40 * 3);
      expect(meanAbsDiff(down, crop)).toBeLessThan(8);
    } finally {
      await data.close();
    }
  });

  it("counts what the frame's edge cuts off of an object in its box's visibility", async () => {
    const data = openDetectorSplit(dir, 'test', meta);
    const lines = readFileSync(join(dir, 'detector', 'test', 'scenes.jsonl'), 'utf8')
      .trim()
      .split('\n');
    const scenes = lines.map((l) => JSON.parse(l) as { tsMs: number; frameIndex: number; persons: Person[] });
    const renderer = runRenderer({ seed: 31, variant }, loaded.catalog, []);
    let cut = 0;
    try {
      for (let i = 0; i < data.count; i++) {
        const { scene, camera } = data.origins[i]!;
        const { tsMs, frameIndex, persons } = scenes[scene]!;
        const labels = renderer.render(camera, persons, tsMs, frameIndex).labels.labels;
        const { boxes } = await data.sample(i);
        expect(boxes).toHaveLength(labels.length);
        labels.forEach((l, j) => {
          // The renderer's visibility counts occlusion among the pixels in the image only.
          expect(boxes[j]!.visibility).toBeCloseTo(l.visibility * l.inFrame!, 3);
          if (l.inFrame! < 0.5) cut++;
        });
      }
    } finally {
      await data.close();
    }
    expect(cut, 'objects mostly outside the frame').toBeGreaterThan(0);
  });

  it('refuses a dataset whose meta.json does not record its runs', () => {
    const data = openDetectorSplit(dir, 'test', meta);
    expect(() => openScenes(dir, 'test', { ...meta, splits: {} }, data.origins)).toThrow(
      /no runs for the test split/,
    );
  });
});
