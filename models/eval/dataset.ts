import { existsSync, readFileSync, statSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { WalkoutError } from '../../proto/index.ts';
import type { RawImage } from '../runtime/preprocess.ts';
import type { MainStreamSource } from '../runtime/types.ts';
import type { GtBox } from './metrics.ts';

/**
 * Reading the evaluation data that `npm run models:data` writes under models/.data: raw uint8
 * image arrays read one image at a time at its offset (a split can be gigabytes), and their labels.
 */

export const DATA_COMMAND = 'npm run models:data';
export const TRAIN_COMMAND = 'npm run models:train';

/** An input the evaluation needs is missing: names the path and the command that creates it. */
export function missingInput(path: string, command: string, what: string): WalkoutError {
  return new WalkoutError('FILE_UNREADABLE', `${what} not found at ${path}; create it with \`${command}\``, {
    path,
    command,
  });
}

const Classes = z.array(z.string().min(1)).min(1);

export const DatasetMeta = z.looseObject({
  /** 2 since detector visibilities count the frame's edge: an older dataset is built again, not misread. */
  version: z.literal(2),
  detector: z.looseObject({
    classes: Classes,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
  }),
  classifier: z.looseObject({
    size: z.number().int().positive(),
    skus: Classes,
    novelSkus: z.array(z.string()).default([]),
    /** The same-weight pairs, which only the camera can tell apart. */
    twinPairs: z.array(z.tuple([z.string(), z.string()])).optional(),
  }),
  reid: z.looseObject({ size: z.number().int().positive() }),
  splits: z.record(z.string(), z.unknown()).default({}),
});
export type DatasetMeta = z.infer<typeof DatasetMeta>;

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw missingInput(path, DATA_COMMAND, what);
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new WalkoutError('FILE_NOT_JSON', `${path} is not valid JSON: ${(err as Error).message}`, { path });
  }
}

function invalid(path: string, message: string): WalkoutError {
  return new WalkoutError('FILE_INVALID', `${path}: ${message}; rebuild it with \`${DATA_COMMAND}\``, {
    path,
    command: DATA_COMMAND,
  });
}

function parse<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw invalid(path, z.prettifyError(r.error).replace(/\n/g, '; '));
  return r.data;
}

export function readMeta(dataDir: string): DatasetMeta {
  const path = join(dataDir, 'meta.json');
  return parse(DatasetMeta, readJson(path, 'the dataset'), path);
}

/** Fixed-size uint8 records in one file, read one at a time. */
export class RecordFile {
  private handle: FileHandle | null = null;
  private opening: Promise<FileHandle> | null = null;

  private constructor(
    readonly path: string,
    readonly recordBytes: number,
    readonly count: number,
  ) {}

  /** Checks that the file holds exactly `count` records of `recordBytes`. */
  static check(path: string, recordBytes: number, count: number): RecordFile {
    if (!existsSync(path)) throw missingInput(path, DATA_COMMAND, 'a dataset split');
    const size = statSync(path).size;
    if (size !== recordBytes * count)
      throw invalid(
        path,
        `${size} bytes, expected ${count} records of ${recordBytes} bytes (${recordBytes * count})`,
      );
    return new RecordFile(path, recordBytes, count);
  }

  async read(index: number): Promise<Uint8Array> {
    if (!Number.isInteger(index) || index < 0 || index >= this.count)
      throw new RangeError(`record ${index} of ${this.count} in ${this.path}`);
    this.opening ??= open(this.path, 'r');
    this.handle = await this.opening;
    const buf = new Uint8Array(this.recordBytes);
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.handle.read(
        buf,
        done,
        buf.length - done,
        index * this.recordBytes + done,
      );
      if (bytesRead === 0) throw invalid(this.path, `ends inside record ${index}`);
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    const h = this.handle ?? (this.opening ? await this.opening : null);
    this.handle = null;
    this.opening = null;
    await h?.close();
  }
}

const DetectorLine = z.object({
  boxes: z.array(
    z.tuple([
      z.number().int().min(0),
      z.number(),
      z.number(),
      z.number(),
      z.number(),
      z.number(), // visibility, 0..1
    ]),
  ),
  /** Where the frame was taken (models/data/scenes.ts); absent in datasets from before scenes. */
  scene: z.number().int().min(0).optional(),
  camera: z.string().optional(),
});

export interface DetectorSample {
  image: RawImage;
  boxes: GtBox[];
  /** The camera's main stream of this frame, for a held-item model that reads it. */
  mainStream?: MainStreamSource;
}

/** The detector's frames and their ground truth: what evaluateDetector consumes. */
export interface DetectorSource {
  classes: readonly string[];
  count: number;
  sample(index: number): Promise<DetectorSample>;
}

export interface DetectorSplit extends DetectorSource {
  split: string;
  width: number;
  height: number;
  labels: GtBox[][];
  /** Each frame's moment and camera, or null in a dataset from before scenes. */
  origins: ({ scene: number; camera: string } | null)[];
  close(): Promise<void>;
}

export function openDetectorSplit(dataDir: string, split: string, meta = readMeta(dataDir)): DetectorSplit {
  const dir = join(dataDir, 'detector', split);
  const labelsPath = join(dir, 'labels.jsonl');
  if (!existsSync(labelsPath)) throw missingInput(labelsPath, DATA_COMMAND, `the detector ${split} split`);
  const classes = meta.detector.classes;
  const lines = readFileSync(labelsPath, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const origins: DetectorSplit['origins'] = [];
  const labels = lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw invalid(labelsPath, `line ${i + 1} is not JSON (${(err as Error).message})`);
    }
    const { boxes, scene, camera } = parse(DetectorLine, value, `${labelsPath} line ${i + 1}`);
    origins.push(scene !== undefined && camera !== undefined ? { scene, camera } : null);
    return boxes.map(([classIndex, x, y, w, h, visibility]): GtBox => {
      if (classIndex >= classes.length)
        throw invalid(labelsPath, `line ${i + 1}: class ${classIndex} of ${classes.length}`);
      return { classIndex, x, y, w, h, visibility };
    });
  });
  const { width, height } = meta.detector;
  const file = RecordFile.check(join(dir, 'images.u8'), width * height * 3, labels.length);
  return {
    split,
    classes,
    width,
    height,
    count: labels.length,
    labels,
    origins,
    async sample(index) {
      return { image: { rgb: await file.read(index), width, height }, boxes: labels[index]! };
    },
    close: () => file.close(),
  };
}

/** Square crops with one label each. */
export interface CropSource {
  count: number;
  crop(index: number): Promise<RawImage>;
}

function cropReader(path: string, size: number, count: number): CropSource & { close(): Promise<void> } {
  const file = RecordFile.check(path, size * size * 3, count);
  return {
    count,
    async crop(index) {
      return { rgb: await file.read(index), width: size, height: size };
    },
    close: () => file.close(),
  };
}

const ClassifierLabels = z.object({ labels: z.array(z.number().int().min(-1)) });

export interface ClassifierData extends CropSource {
  /** SKUs in class order; a label indexes this list, -1 a novel product. */
  skus: readonly string[];
  labels: readonly number[];
  twinPairs?: readonly (readonly [string, string])[];
}

export interface ClassifierSplit extends ClassifierData {
  split: string;
  close(): Promise<void>;
}

export function openClassifierSplit(
  dataDir: string,
  split: string,
  meta = readMeta(dataDir),
): ClassifierSplit {
  const dir = join(dataDir, 'classifier', split);
  const labelsPath = join(dir, 'labels.json');
  const { labels } = parse(
    ClassifierLabels,
    readJson(labelsPath, `the classifier ${split} split`),
    labelsPath,
  );
  const skus = meta.classifier.skus;
  const bad = labels.findIndex((l) => l >= skus.length);
  if (bad >= 0) throw invalid(labelsPath, `label ${labels[bad]} at ${bad} but ${skus.length} SKUs`);
  const reader = cropReader(join(dir, 'crops.u8'), meta.classifier.size, labels.length);
  return { split, skus, labels, twinPairs: meta.classifier.twinPairs, ...reader };
}

const ReidLabels = z
  .object({
    ids: z.array(z.number().int()),
    cameras: z.array(z.number().int()),
    scenes: z.array(z.number().int()),
    heads: z.array(z.union([z.literal(0), z.literal(1)]), {
      error:
        'heads is missing or not 0/1 per crop (a dataset from before 2026-11-23: run `npm run models:data`)',
    }),
  })
  .refine(
    (l) =>
      l.ids.length === l.cameras.length &&
      l.ids.length === l.scenes.length &&
      l.ids.length === l.heads.length,
    { message: 'ids, cameras, scenes and heads differ in length' },
  );

export interface ReidData extends CropSource {
  ids: readonly number[];
  cameras: readonly number[];
  scenes: readonly number[];
  /** 1 where the crop's person has their head in view: the crops re-id is scored on. */
  heads: readonly (0 | 1)[];
}

export interface ReidSplit extends ReidData {
  split: string;
  close(): Promise<void>;
}

export function openReidSplit(dataDir: string, split: string, meta = readMeta(dataDir)): ReidSplit {
  const dir = join(dataDir, 'reid', split);
  const labelsPath = join(dir, 'labels.json');
  const l = parse(ReidLabels, readJson(labelsPath, `the re-id ${split} split`), labelsPath);
  const reader = cropReader(join(dir, 'crops.u8'), meta.reid.size, l.ids.length);
  return { split, ids: l.ids, cameras: l.cameras, scenes: l.scenes, heads: l.heads, ...reader };
}
