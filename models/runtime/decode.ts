import { nmsPerClass, type ScoredBox } from './nms.ts';
import type { InputTransform, PixelBox } from './preprocess.ts';
import { toSource } from './preprocess.ts';
import type { ItemClass } from './types.ts';

/**
 * Model outputs to answers, pure: no sessions, no images, so every rule here is unit-tested on
 * hand-built tensors.
 */

export interface YoloOptions {
  /** Number of classes C. */
  classes: number;
  /** false: [1, 4 + C, A] (Ultralytics); true: [1, A, 4 + C]. */
  transposed: boolean;
  /** Scores are logits (apply a sigmoid) rather than already 0..1. */
  logits: boolean;
  scoreThreshold: number;
  nmsIou: number;
  maxDetections: number;
}

/** Candidates considered by NMS at most, best first (as Ultralytics' max_nms). */
export const MAX_NMS_CANDIDATES = 30_000;

/** The dims of a yolov8 output, checked: the anchor count, or a message saying what is wrong. */
export function yoloAnchors(dims: readonly number[], classes: number, transposed: boolean): number | string {
  const rows = 4 + classes;
  if (dims.length !== 3 || dims[0] !== 1)
    return `expected [1, ${transposed ? `anchors, ${rows}` : `${rows}, anchors`}], got [${dims.join(', ')}]`;
  const [, a, b] = dims as [number, number, number];
  const got = transposed ? b : a;
  if (got !== rows)
    return `expected ${rows} values per anchor (4 box + ${classes} classes), got ${got} in [${dims.join(', ')}]`;
  const anchors = transposed ? a : b;
  return anchors >= 1 ? anchors : `no anchors in [${dims.join(', ')}]`;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * Decodes a yolov8 tensor: per anchor, every class scoring at least the threshold, then per-class
 * NMS, best `maxDetections` kept. Boxes are left, top, width, height in model-input pixels.
 */
export function decodeYolo(output: Float32Array, dims: readonly number[], opts: YoloOptions): ScoredBox[] {
  const C = opts.classes;
  const anchors = yoloAnchors(dims, C, opts.transposed);
  if (typeof anchors === 'string') throw new Error(`yolov8 output: ${anchors}`);
  const A = anchors;
  const stride = 4 + C;
  if (output.length < A * stride)
    throw new Error(`yolov8 output: ${output.length} values for ${A}×${stride}`);
  // Compare raw values against the threshold in the scores' own space.
  const thr = opts.logits ? Math.log(opts.scoreThreshold / (1 - opts.scoreThreshold)) : opts.scoreThreshold;
  const cand: { a: number; c: number; s: number }[] = [];
  if (opts.transposed) {
    for (let a = 0; a < A; a++) {
      const base = a * stride + 4;
      for (let c = 0; c < C; c++) {
        const s = output[base + c]!;
        if (s >= thr) cand.push({ a, c, s });
      }
    }
  } else {
    for (let c = 0; c < C; c++) {
      const row = (4 + c) * A;
      for (let a = 0; a < A; a++) {
        const s = output[row + a]!;
        if (s >= thr) cand.push({ a, c, s });
      }
    }
  }
  cand.sort((p, q) => q.s - p.s);
  if (cand.length > MAX_NMS_CANDIDATES) cand.length = MAX_NMS_CANDIDATES;
  const at = opts.transposed
    ? (a: number, k: number) => output[a * stride + k]!
    : (a: number, k: number) => output[k * A + a]!;
  const boxes: ScoredBox[] = cand.map(({ a, c, s }) => {
    const cx = at(a, 0);
    const cy = at(a, 1);
    const w = at(a, 2);
    const h = at(a, 3);
    return { classIndex: c, score: opts.logits ? sigmoid(s) : s, x: cx - w / 2, y: cy - h / 2, w, h };
  });
  return nmsPerClass(boxes, opts.nmsIou, opts.maxDetections);
}

/** A box from model-input pixels to source pixels, clipped to the width × height image; null if nothing is left. */
export function boxToSource(
  box: PixelBox,
  t: InputTransform,
  width: number,
  height: number,
): PixelBox | null {
  const s = toSource(box, t);
  const x0 = Math.max(0, s.x);
  const y0 = Math.max(0, s.y);
  const x1 = Math.min(width, s.x + s.w);
  const y1 = Math.min(height, s.y + s.h);
  if (!(x1 > x0 && y1 > y0)) return null;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** Softmax of values × scale, computed stably. */
export function softmax(values: ArrayLike<number>, scale = 1): Float64Array {
  const out = new Float64Array(values.length);
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]! * scale);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.exp(values[i]! * scale - max);
    sum += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

export interface Calibration {
  logitScale: number;
  temperature: number;
}

/** Calibrated class probabilities: softmax(similarity × logitScale / temperature). */
export function calibratedProbabilities(similarity: ArrayLike<number>, cal: Calibration): Float64Array {
  return softmax(similarity, cal.logitScale / cal.temperature);
}

/** A copy of v scaled to unit length (a zero vector stays zero). */
export function l2Normalize(v: ArrayLike<number>): Float32Array {
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += v[i]! * v[i]!;
  const out = new Float32Array(v.length);
  const k = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * k;
  return out;
}

export interface ClassifyOptions extends Calibration {
  unknownThreshold: number;
  /** How many classes `top` lists. */
  topK?: number;
}

/** One classifier answer: calibrated probabilities, unknown when the best similarity is below the threshold. */
export function decodeClassifier(
  similarity: ArrayLike<number>,
  embedding: ArrayLike<number>,
  classes: readonly string[],
  opts: ClassifyOptions,
): ItemClass {
  if (similarity.length !== classes.length)
    throw new Error(`similarity has ${similarity.length} values for ${classes.length} classes`);
  const p = calibratedProbabilities(similarity, opts);
  let best = 0;
  for (let i = 1; i < similarity.length; i++) if (similarity[i]! > similarity[best]!) best = i;
  const order = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]!);
  const top = order.slice(0, opts.topK ?? 5).map((i) => ({ sku: classes[i]!, probability: p[i]! }));
  const sim = similarity[best]!;
  const unknown = !(sim >= opts.unknownThreshold);
  return {
    sku: unknown ? null : classes[best]!,
    classIndex: best,
    probability: p[best]!,
    similarity: sim,
    unknown,
    top,
    embedding: l2Normalize(embedding),
  };
}
