import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { MomentSnapshot } from './run.ts';

/**
 * The dataset on disk, in the plainest form PyTorch can read without a decoder: raw HWC uint8
 * pixels appended to one file per split and task, with labels beside them (see docs/models.md).
 */
export class Pixels {
  private readonly fd: number;
  count = 0;

  constructor(
    readonly dir: string,
    file: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.fd = openSync(join(dir, file), 'w');
  }

  append(hwc: Uint8Array): void {
    writeSync(this.fd, hwc);
    this.count++;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** One label row per frame: [classIndex, x, y, w, h, visibility] per object. */
export type BoxRow = [number, number, number, number, number, number];

/**
 * Detector frames with their labels, and the moments they were taken at (scenes.jsonl, one line
 * per moment: the run's index in the split, the time, the people as drawn), so that any region of
 * a frame can be drawn again (models/data/scenes.ts). Each label line names its scene and camera.
 */
export class DetectorWriter {
  private readonly images: Pixels;
  private readonly labels: number;
  private readonly scenes: number;
  private sceneCount = 0;

  constructor(dir: string) {
    this.images = new Pixels(dir, 'images.u8');
    this.labels = openSync(join(dir, 'labels.jsonl'), 'w');
    this.scenes = openSync(join(dir, 'scenes.jsonl'), 'w');
  }

  get count(): number {
    return this.images.count;
  }

  scene(run: number, moment: MomentSnapshot): void {
    writeSync(this.scenes, `${JSON.stringify({ run, ...moment })}\n`);
    this.sceneCount++;
  }

  append(hwc: Uint8Array, boxes: BoxRow[], camera: string): void {
    if (this.sceneCount === 0) throw new Error('DetectorWriter: a frame before any scene');
    this.images.append(hwc);
    writeSync(this.labels, `${JSON.stringify({ boxes, scene: this.sceneCount - 1, camera })}\n`);
  }

  close(): void {
    this.images.close();
    closeSync(this.labels);
    closeSync(this.scenes);
  }
}

/** Crops of one size with per-crop integer columns (label, id, camera, scene …) kept until close. */
export class CropWriter<K extends string> {
  private readonly crops: Pixels;
  private readonly columns: Record<K, number[]>;

  constructor(
    private readonly dir: string,
    keys: readonly K[],
  ) {
    this.crops = new Pixels(dir, 'crops.u8');
    this.columns = Object.fromEntries(keys.map((k) => [k, []])) as unknown as Record<K, number[]>;
  }

  get count(): number {
    return this.crops.count;
  }

  append(hwc: Uint8Array, values: Record<K, number>): void {
    this.crops.append(hwc);
    for (const k of Object.keys(this.columns) as K[]) this.columns[k].push(values[k]);
  }

  close(): void {
    this.crops.close();
    writeFileSync(join(this.dir, 'labels.json'), `${JSON.stringify(this.columns)}\n`);
  }
}
