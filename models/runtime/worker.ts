import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { WalkoutError } from '../../proto/errors.ts';
import { armStrip } from './arm-link.ts';
import { checkInputs, checkOutputDims, checkOutputNames } from './checks.ts';
import { boxToSource, decodeClassifier, decodeYolo, l2Normalize } from './decode.ts';
import { decodeHeldItem, type HeldItem, padWindow, windowTransform } from './held-item.ts';
import {
  cropResize,
  decodeJpeg,
  type InputTransform,
  type PixelBox,
  type RawImage,
  toTensor,
  windowAt,
} from './preprocess.ts';
import type {
  Detection,
  ImageInput,
  Timing,
  WorkerInit,
  WorkerReply,
  WorkerRequest,
  WorkerResult,
} from './types.ts';
import { toWire } from './wire.ts';

/**
 * One model session in a worker thread: checks the model against its manifest, warms it up, then
 * answers requests one at a time (decode, crop and resize, tensor, run, decode outputs).
 *
 * Every worker pays for its imports at start: keep this module graph small (proto/errors.ts, not
 * proto/index.ts, which pulls in zod and every schema).
 */

const init = workerData as WorkerInit;
const { manifest: m } = init;
const file = m.modelPath;
const port = parentPort!;
const post = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

// One libvips thread per worker: parallelism comes from the workers. Its operation cache only
// costs time here, as no two requests share an image.
sharp.concurrency(1);
sharp.cache(false);
const [, , H, W] = m.input.shape;
const tensorData = new Float32Array(3 * H * W);
const tensor = new ort.Tensor('float32', tensorData, m.input.shape);
const outputNames =
  m.output.kind === 'classifier' ? [m.output.similarity, m.output.embedding] : [m.output.name];
let session: ort.InferenceSession;

async function start(): Promise<void> {
  try {
    session = await ort.InferenceSession.create(init.model, {
      intraOpNumThreads: init.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: init.graphOptimization,
    });
  } catch (err) {
    throw new WalkoutError(
      'MODEL_CORRUPT',
      `${file}: onnxruntime cannot load it: ${(err as Error).message}`,
      {
        file,
      },
    );
  }
  checkInputs(session.inputMetadata, m, file);
  checkOutputNames(session.outputNames, m, file);
  tensorData.fill(0);
  let out: ort.InferenceSession.ReturnType;
  try {
    out = await session.run({ [m.input.name]: tensor }, outputNames);
  } catch (err) {
    throw new WalkoutError(
      'MODEL_MISMATCH',
      `${file}: warm-up run on zeros failed: ${(err as Error).message}`,
      {
        file,
      },
    );
  }
  checkOutputDims(m, Object.fromEntries(outputNames.map((n) => [n, out[n]?.dims ?? []])), file);
}

async function run(): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  let out: ort.InferenceSession.ReturnType;
  try {
    out = await session.run({ [m.input.name]: tensor }, outputNames);
  } catch (err) {
    throw new WalkoutError('INFERENCE_FAILED', `${file}: ${(err as Error).message}`, { file });
  }
  const res: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
  for (const n of outputNames) {
    const t = out[n]!;
    if (!(t.data instanceof Float32Array))
      throw new WalkoutError('INFERENCE_FAILED', `${file}: output "${n}" is ${t.type}, not float32`, {
        file,
      });
    res[n] = { data: t.data, dims: t.dims };
  }
  return res;
}

const IDENTITY: InputTransform = { scaleX: 1, scaleY: 1, padX: 0, padY: 0, offsetX: 0, offsetY: 0 };

/** A held-item model's window is centred on its proposal's box; the others crop or resize. */
async function prepare(img: RawImage, box: PixelBox | null) {
  const resize = m.input.resize;
  if (resize === 'letterbox' || resize === 'stretch')
    return cropResize(img, box, W, H, resize, m.input.padValue);
  if (resize === 'strip')
    throw new WalkoutError('IMAGE_INVALID', `${file}: an arm-link model reads pairs, not boxes`, { file });
  if (!box) throw new WalkoutError('IMAGE_INVALID', `${file}: a window model needs proposal boxes`, { file });
  return windowAt(img, box.x + box.w / 2, box.y + box.h / 2, W, m.input.padValue);
}

async function decode(image: ImageInput, timing: Timing): Promise<RawImage> {
  if (!(image instanceof Uint8Array)) return image;
  const t = performance.now();
  const img = await decodeJpeg(image);
  timing.decodeMs += performance.now() - t;
  return img;
}

/** The model's inputs for a request, one at a time: crops of one image, or main-stream windows. */
async function* inputs(
  req: WorkerRequest,
  timing: Timing,
  kept: { image?: RawImage },
): AsyncGenerator<{ hwc: Uint8Array; transform: InputTransform; width: number; height: number }> {
  if ('windows' in req) {
    for (const { window, part } of req.windows) {
      const img = part === null ? null : await decode(part, timing);
      const t = performance.now();
      const hwc = padWindow(img, window, m.input.padValue);
      timing.preprocessMs += performance.now() - t;
      yield { hwc, transform: windowTransform(window), ...req.frame };
    }
    return;
  }
  const img = await decode(req.image, timing);
  if ('pairs' in req) {
    if (m.output.kind !== 'arm-link')
      throw new WalkoutError('IMAGE_INVALID', `${file}: pairs are for an arm-link model`, { file });
    for (const pair of req.pairs) {
      const t = performance.now();
      const hwc = armStrip(img, pair, W, H, m.output.handAtPx, m.input.padValue);
      timing.preprocessMs += performance.now() - t;
      yield { hwc, transform: IDENTITY, width: img.width, height: img.height };
    }
    return;
  }
  if (req.keepImage && req.image instanceof Uint8Array) kept.image = img;
  for (const box of req.boxes ?? [null]) {
    const t = performance.now();
    const { hwc, transform } = await prepare(img, box);
    timing.preprocessMs += performance.now() - t;
    yield { hwc, transform, width: img.width, height: img.height };
  }
}

async function handle(req: WorkerRequest): Promise<void> {
  const t0 = performance.now();
  const timing: Timing = { decodeMs: 0, preprocessMs: 0, inferMs: 0, postprocessMs: 0, totalMs: 0 };
  const transfer: ArrayBuffer[] = [];
  const detections: Detection[] = [];
  const results: Extract<WorkerResult, { task: 'classifier' }>['results'] = [];
  const vectors: Float32Array[] = [];
  const items: HeldItem[] = [];
  const probabilities: number[] = [];
  const kept: { image?: RawImage } = {};
  let index = 0;
  for await (const { hwc, transform, width, height } of inputs(req, timing, kept)) {
    let t = performance.now();
    toTensor(hwc, W, H, m.input.mean, m.input.std, tensorData);
    timing.preprocessMs += performance.now() - t;
    t = performance.now();
    const out = await run();
    timing.inferMs += performance.now() - t;
    t = performance.now();
    const o = m.output;
    if (o.kind === 'detector') {
      const { data, dims } = out[o.name]!;
      const raw = decodeYolo(data, dims, {
        classes: m.classes.length,
        transposed: o.transposed,
        logits: o.logits,
        scoreThreshold: init.scoreThreshold ?? o.scoreThreshold,
        nmsIou: o.nmsIou,
        maxDetections: o.maxDetections,
      });
      for (const r of raw) {
        const bbox = boxToSource(r, transform, width, height);
        if (bbox)
          detections.push({ classIndex: r.classIndex, cls: m.classes[r.classIndex]!, score: r.score, bbox });
      }
    } else if (o.kind === 'held-item') {
      const { data, dims } = out[o.name]!;
      const opts = {
        scoreThreshold: init.scoreThreshold ?? o.scoreThreshold,
        nmsIou: o.nmsIou,
        reachPx: o.reachPx,
        windowPx: W,
      };
      for (const it of decodeHeldItem(data, dims, opts, transform, width, height))
        items.push({ proposal: index, ...it });
    } else if (o.kind === 'arm-link') {
      probabilities.push(out[o.name]!.data[0]!);
    } else if (o.kind === 'classifier') {
      const r = decodeClassifier(out[o.similarity]!.data, out[o.embedding]!.data, m.classes, o);
      results.push(r);
      transfer.push(r.embedding.buffer as ArrayBuffer);
    } else {
      const v = l2Normalize(out[o.name]!.data);
      vectors.push(v);
      transfer.push(v.buffer as ArrayBuffer);
    }
    timing.postprocessMs += performance.now() - t;
    index++;
  }
  const image = kept.image;
  // Handed over, not copied, when the pixels are the whole of their buffer (sharp's are).
  if (image && image.rgb.byteOffset === 0 && image.rgb.byteLength === image.rgb.buffer.byteLength)
    transfer.push(image.rgb.buffer as ArrayBuffer);
  const result: WorkerResult =
    init.task === 'detector'
      ? { task: 'detector', detections, ...(image ? { image } : {}) }
      : init.task === 'classifier'
        ? { task: 'classifier', results }
        : init.task === 'held-item'
          ? { task: 'held-item', items }
          : init.task === 'arm-link'
            ? { task: 'arm-link', probabilities }
            : { task: 'embedding', vectors };
  timing.totalMs = performance.now() - t0;
  post({ kind: 'done', id: req.id, result, timing }, transfer);
}

// One request at a time: the input tensor is shared.
let chain: Promise<void> = Promise.resolve();
start().then(
  () => {
    port.on('message', (req: WorkerRequest) => {
      chain = chain.then(() =>
        handle(req).catch((err) =>
          post({ kind: 'failed', id: req.id, error: toWire(err, 'INFERENCE_FAILED', file) }),
        ),
      );
    });
    post({ kind: 'ready' });
  },
  (err) => post({ kind: 'fatal', error: toWire(err, 'MODEL_CORRUPT', file) }),
);
