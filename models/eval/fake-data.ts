import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../runtime/manifest.ts';

/**
 * A tiny dataset in the on-disk format of `npm run models:data`, for the reader's tests and for
 * trying the CLI without the real data. Pixel values encode the record index, so a reader that
 * reads the wrong offset is caught: every byte of record i is (i * 37 + 11) % 256.
 */

export interface FakeDataset {
  classes: string[];
  skus: string[];
  detectorBoxes: [number, number, number, number, number, number][][];
  classifierLabels: number[];
  reid: { ids: number[]; cameras: number[]; scenes: number[]; heads: (0 | 1)[] };
}

export const FAKE: FakeDataset = {
  classes: ['person', 'head', 'hand', 'item'],
  skus: ['SKU-A', 'SKU-B', 'SKU-C', 'SKU-D'],
  detectorBoxes: [
    [
      [0, 10, 20, 30, 60, 1],
      [1, 15, 20, 10, 10, 0.9],
    ],
    [],
    [
      [2, 100, 100, 2, 8, 1],
      [3, 50, 40, 12, 12, 0.2],
    ],
  ],
  classifierLabels: [0, 1, 2, 3, -1, 1],
  reid: { ids: [0, 0, 1, 1, 2], cameras: [0, 1, 0, 1, 0], scenes: [0, 0, 0, 0, 1], heads: [1, 1, 1, 1, 0] },
};

export function recordByte(index: number): number {
  return (index * 37 + 11) % 256;
}

function records(count: number, bytes: number): Uint8Array {
  const out = new Uint8Array(count * bytes);
  for (let i = 0; i < count; i++) out.fill(recordByte(i), i * bytes, (i + 1) * bytes);
  return out;
}

/** Writes the fake dataset to `dir` (frames width × height, crops size × size) for `split`. */
export function writeFakeDataset(
  dir: string,
  opts: { split?: string; width?: number; height?: number; size?: number } = {},
) {
  const split = opts.split ?? 'test';
  const width = opts.width ?? 160;
  const height = opts.height ?? 120;
  const size = opts.size ?? 8;
  const meta = {
    version: 2,
    createdAt: '2025-01-01T00:00:00.000Z',
    detector: { classes: FAKE.classes, width, height },
    classifier: { size, skus: FAKE.skus, novelSkus: ['NOVEL-1'], twinPairs: [['SKU-A', 'SKU-B']] },
    reid: { size },
    splits: { [split]: { detectorFrames: FAKE.detectorBoxes.length } },
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  const det = join(dir, 'detector', split);
  mkdirSync(det, { recursive: true });
  writeFileSync(join(det, 'images.u8'), records(FAKE.detectorBoxes.length, width * height * 3));
  writeFileSync(
    join(det, 'labels.jsonl'),
    FAKE.detectorBoxes.map((boxes) => `${JSON.stringify({ boxes })}\n`).join(''),
  );
  const cls = join(dir, 'classifier', split);
  mkdirSync(cls, { recursive: true });
  writeFileSync(join(cls, 'crops.u8'), records(FAKE.classifierLabels.length, size * size * 3));
  writeFileSync(join(cls, 'labels.json'), JSON.stringify({ labels: FAKE.classifierLabels }));
  const reid = join(dir, 'reid', split);
  mkdirSync(reid, { recursive: true });
  writeFileSync(join(reid, 'crops.u8'), records(FAKE.reid.ids.length, size * size * 3));
  writeFileSync(join(reid, 'labels.json'), JSON.stringify(FAKE.reid));
  return { split, width, height, size };
}

/** The input block of the fake models' manifests in the evaluator's tests (never run by onnxruntime). */
export const FAKE_MODEL_INPUT: Manifest['input'] = {
  name: 'images',
  shape: [1, 3, 8, 8],
  layout: 'NCHW',
  colour: 'RGB',
  resize: 'stretch',
  padValue: 114,
  mean: [0, 0, 0],
  std: [255, 255, 255],
};
