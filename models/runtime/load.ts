import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadJsonFile, WalkoutError } from '../../proto/index.ts';
import { type ArmPair, armReachPx } from './arm-link.ts';
import { heldItemWindow } from './held-item.ts';
import { Manifest } from './manifest.ts';
import { WorkerPool } from './pool.ts';
import type { PixelBox, RawImage } from './preprocess.ts';
import type {
  ArmLinkModel,
  ClassifierModel,
  DetectorModel,
  EmbeddingModel,
  GraphOptimization,
  HeldItemModel,
  ImageInput,
  LoadedManifest,
  LoadOptions,
  Task,
  Timing,
  WorkerResult,
} from './types.ts';

/**
 * The one way to load a model: manifest, file, hash and graph are all checked before the first
 * inference, and every refusal names the file and what is wrong with it.
 */

/**
 * Defaults, from `npm run bench:inference` on a 2-core machine (benchmarks/results/inference.json):
 * one intra-op thread per session and one worker per core beat one session with two threads,
 * since decoding and preprocessing are single-threaded and a second intra-op thread mostly waits.
 * The detector, which runs on every frame, gets a worker per core (at most 2, as measured); the
 * classifier and embedding models run in well under a millisecond, so one worker serves them.
 */
export function defaultLoadOptions(task: Task): Required<Omit<LoadOptions, 'scoreThreshold'>> {
  return {
    workers: task === 'detector' ? Math.min(2, availableParallelism()) : 1,
    intraOpThreads: 1,
    graphOptimization: 'all',
  };
}

/** Reads and validates a manifest; `modelPath` is its `file` resolved against the manifest's folder. */
export function readManifest(manifestPath: string): LoadedManifest {
  const path = resolve(manifestPath);
  const m = loadJsonFile(path, Manifest);
  return { ...m, path, modelPath: resolve(dirname(path), m.file) };
}

const LOADER: Record<Task, string> = {
  detector: 'loadDetector',
  classifier: 'loadClassifier',
  embedding: 'loadEmbedder',
  'held-item': 'loadHeldItem',
  'arm-link': 'loadArmLink',
};

const TASK_NAME: Record<Task, string> = {
  detector: 'a detector',
  classifier: 'a classifier',
  embedding: 'an embedding model',
  'held-item': 'a held-item model',
  'arm-link': 'an arm-link model',
};

function resolveOptions(task: Task, opts: LoadOptions, source: string) {
  const o = { ...defaultLoadOptions(task), ...stripUndefined(opts) };
  const bad = (field: string, why: string) =>
    new WalkoutError('CONFIG_INVALID', `${source}: load option ${field} ${why}`, { field });
  if (!Number.isInteger(o.workers) || o.workers < 1)
    throw bad('workers', `must be a positive integer, got ${o.workers}`);
  if (!Number.isInteger(o.intraOpThreads) || o.intraOpThreads < 1)
    throw bad('intraOpThreads', `must be a positive integer, got ${o.intraOpThreads}`);
  const levels: GraphOptimization[] = ['disabled', 'basic', 'extended', 'all'];
  if (!levels.includes(o.graphOptimization))
    throw bad('graphOptimization', `must be one of ${levels.join(', ')}, got ${o.graphOptimization}`);
  const t = opts.scoreThreshold;
  if (t !== undefined && !(t >= 0 && t <= 1)) throw bad('scoreThreshold', `must be within 0..1, got ${t}`);
  return { ...o, scoreThreshold: t };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Reads the model file and checks its sha256 against the manifest. */
export async function readVerifiedModel(m: LoadedManifest): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(m.modelPath);
  } catch (err) {
    throw new WalkoutError(
      'FILE_UNREADABLE',
      `${m.modelPath}: model file named by ${m.path} cannot be read: ${(err as Error).message}`,
      { file: m.modelPath, manifest: m.path },
    );
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== m.sha256)
    throw new WalkoutError(
      'MODEL_CORRUPT',
      `${m.modelPath}: sha256 is ${actual}, but ${m.path} expects ${m.sha256} (${bytes.length} bytes read)`,
      { file: m.modelPath, manifest: m.path, expected: m.sha256, actual, bytes: bytes.length },
    );
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

async function open(
  task: Task,
  manifestPath: string,
  opts: LoadOptions,
): Promise<{ m: LoadedManifest; pool: WorkerPool }> {
  const m = readManifest(manifestPath);
  if (m.task !== task)
    throw new WalkoutError(
      'MODEL_MISMATCH',
      `${m.path}: is the manifest of ${TASK_NAME[m.task]}; ${LOADER[task]} needs ${TASK_NAME[task]}`,
      { manifest: m.path, expected: task, actual: m.task },
    );
  const o = resolveOptions(task, opts, m.path);
  const model = await readVerifiedModel(m);
  const pool = await WorkerPool.start(o.workers, {
    task,
    manifest: m,
    model,
    intraOpThreads: o.intraOpThreads,
    graphOptimization: o.graphOptimization,
    scoreThreshold: o.scoreThreshold,
  });
  return { m, pool };
}

function isImage(image: unknown): image is ImageInput {
  const raw = image as RawImage;
  return (
    image instanceof Uint8Array ||
    (typeof image === 'object' &&
      image !== null &&
      raw.rgb instanceof Uint8Array &&
      typeof raw.width === 'number' &&
      typeof raw.height === 'number')
  );
}

/** Rejects what cannot be an image or a box list before it crosses to a worker. */
function checkArgs(image: ImageInput, boxes: PixelBox[] | undefined): void {
  if (!isImage(image))
    throw new WalkoutError(
      'IMAGE_INVALID',
      'image must be JPEG bytes (Uint8Array) or { rgb, width, height }',
    );
  if (boxes !== undefined) checkBoxes(boxes);
}

function checkBoxes(boxes: PixelBox[]): void {
  if (!Array.isArray(boxes))
    throw new WalkoutError('IMAGE_INVALID', 'boxes must be an array of { x, y, w, h }');
  boxes.forEach((b, i) => {
    if (![b?.x, b?.y, b?.w, b?.h].every((v) => typeof v === 'number' && Number.isFinite(v)))
      throw new WalkoutError('IMAGE_INVALID', `boxes[${i}] is not { x, y, w, h } finite numbers`, { box: b });
  });
}

/** Checks the arguments, then runs one request; with an empty box list there is nothing to run. */
async function call<K extends WorkerResult['task']>(
  pool: WorkerPool,
  image: ImageInput,
  boxes?: PixelBox[],
  keepImage = false,
): Promise<{ result: Extract<WorkerResult, { task: K }>; timing: Timing } | null> {
  checkArgs(image, boxes);
  if (boxes?.length === 0) return null;
  return (await pool.request({ image, boxes, ...(keepImage ? { keepImage } : {}) })) as {
    result: Extract<WorkerResult, { task: K }>;
    timing: Timing;
  };
}

const NO_TIMING = { decodeMs: 0, preprocessMs: 0, inferMs: 0, postprocessMs: 0, totalMs: 0 };

export async function loadDetector(manifestPath: string, opts: LoadOptions = {}): Promise<DetectorModel> {
  const { m, pool } = await open('detector', manifestPath, opts);
  return {
    manifest: m,
    async detect(image, opts = {}) {
      const { result, timing } = (await call<'detector'>(pool, image, undefined, opts.keepImage))!;
      return { detections: result.detections, timing, ...(result.image ? { image: result.image } : {}) };
    },
    close: () => pool.close(),
  };
}

export async function loadClassifier(manifestPath: string, opts: LoadOptions = {}): Promise<ClassifierModel> {
  const { m, pool } = await open('classifier', manifestPath, opts);
  return {
    manifest: m,
    async classify(image, boxes) {
      const done = await call<'classifier'>(pool, image, boxes);
      if (!done) return { results: [], timing: { ...NO_TIMING } };
      const { result, timing } = done;
      return { results: result.results, timing };
    },
    close: () => pool.close(),
  };
}

export async function loadEmbedder(manifestPath: string, opts: LoadOptions = {}): Promise<EmbeddingModel> {
  const { m, pool } = await open('embedding', manifestPath, opts);
  return {
    manifest: m,
    async embed(image, boxes) {
      const done = await call<'embedding'>(pool, image, boxes);
      if (!done) return { vectors: [], timing: { ...NO_TIMING } };
      const { result, timing } = done;
      return { vectors: result.vectors, timing };
    },
    close: () => pool.close(),
  };
}

export async function loadHeldItem(manifestPath: string, opts: LoadOptions = {}): Promise<HeldItemModel> {
  const { m, pool } = await open('held-item', manifestPath, opts);
  const scale = m.output.kind === 'held-item' ? m.output.mainStreamScale : 1;
  const sidePx = m.input.shape[3] / scale;
  return {
    manifest: m,
    async find(source, proposals) {
      if (scale === 1) {
        if (!isImage(source))
          throw new WalkoutError('IMAGE_INVALID', `${m.path}: reads the detect-stream frame; pass the frame`);
        const done = await call<'held-item'>(pool, source, proposals);
        if (!done) return { items: [], timing: { ...NO_TIMING } };
        return { items: done.result.items, timing: done.timing };
      }
      if (isImage(source) || typeof source?.region !== 'function')
        throw new WalkoutError(
          'IMAGE_INVALID',
          `${m.path}: reads the camera's main stream at scale ${scale}; pass a MainStreamSource`,
        );
      checkBoxes(proposals);
      if (proposals.length === 0) return { items: [], timing: { ...NO_TIMING } };
      const windows = await Promise.all(
        proposals.map(async (p) => {
          const window = heldItemWindow(p.x + p.w / 2, p.y + p.h / 2, sidePx, scale, source);
          const part = window.inFrame ? await source.region(window.inFrame, scale) : null;
          if (part !== null && !isImage(part))
            throw new WalkoutError(
              'IMAGE_INVALID',
              'a main-stream region must be JPEG bytes or { rgb, width, height }',
            );
          return { window, part };
        }),
      );
      // Timing is the model's: reading the regions is the caller's I/O.
      const frame = { width: source.width, height: source.height };
      const { result, timing } = await pool.request({ windows, frame });
      return { items: (result as Extract<WorkerResult, { task: 'held-item' }>).items, timing };
    },
    close: () => pool.close(),
  };
}

export async function loadArmLink(manifestPath: string, opts: LoadOptions = {}): Promise<ArmLinkModel> {
  const { m, pool } = await open('arm-link', manifestPath, opts);
  const handAtPx = m.output.kind === 'arm-link' ? m.output.handAtPx : 0;
  return {
    manifest: m,
    reachPx: armReachPx(m.input.shape[3], handAtPx),
    async link(image, pairs) {
      checkArgs(image, undefined);
      if (!Array.isArray(pairs))
        throw new WalkoutError('IMAGE_INVALID', 'pairs must be an array of { hand: [x, y], head: [x, y] }');
      pairs.forEach((p: ArmPair, i) => {
        const ok = [p?.hand?.[0], p?.hand?.[1], p?.head?.[0], p?.head?.[1]].every(
          (v) => typeof v === 'number' && Number.isFinite(v),
        );
        if (!ok)
          throw new WalkoutError(
            'IMAGE_INVALID',
            `pairs[${i}] is not { hand: [x, y], head: [x, y] } finite numbers`,
            {
              pair: p,
            },
          );
      });
      if (pairs.length === 0) return { probabilities: [], timing: { ...NO_TIMING } };
      const { result, timing } = await pool.request({ image, pairs });
      return { probabilities: (result as Extract<WorkerResult, { task: 'arm-link' }>).probabilities, timing };
    },
    close: () => pool.close(),
  };
}

/** Where the project keeps each task's model: `models/<folder>/manifest.json`. */
export const MODEL_FOLDERS: Record<Task, readonly string[]> = {
  detector: ['detector'],
  classifier: ['classifier'],
  embedding: ['reid', 'embedding'],
  'held-item': ['held-item'],
  'arm-link': ['arm-link'],
};

export const MODELS_DIR = fileURLToPath(new URL('../', import.meta.url));

/** The shipped manifest of a task under `modelsDir` (default: the repository's models/), or null if none. */
export function findManifest(task: Task, modelsDir: string = MODELS_DIR): string | null {
  for (const folder of MODEL_FOLDERS[task]) {
    const p = join(modelsDir, folder, 'manifest.json');
    if (existsSync(p)) return p;
  }
  return null;
}
