/**
 * The evaluation metrics, as pure functions over plain numbers, so that each can be checked by
 * hand on a small case and reused by tests that render fresh frames.
 */

/** A detection counts as a true positive when it overlaps an unmatched ground truth this much (IoU). */
export const MATCH_IOU = 0.5;
/**
 * Ground truth showing less of its object than this (hidden behind something, or cut off by the
 * frame's edge: the dataset's visibility counts both, as MOTChallenge's does) is an ignore region.
 */
export const IGNORE_MIN_VISIBILITY = 0.3;
/** Ground truth narrower or lower than this, in pixels, is an ignore region. */
export const IGNORE_MIN_SIZE_PX = 3;
/**
 * A detection that overlaps an ignore region with IoU ≥ MATCH_IOU, or has at least this share of
 * its own area inside it, is neither a true nor a false positive.
 */
export const IGNORE_INSIDE_FRACTION = 0.5;
/** Number of equal-width confidence bins of the expected calibration error. */
export const ECE_BINS = 15;

/** A pixel box: left, top, width, height. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A ground-truth box of the detector dataset. */
export interface GtBox extends Box {
  classIndex: number;
  /** 0..1: the share of the whole object the camera shows (neither hidden nor outside the frame). */
  visibility: number;
}

export interface ScoredBox extends Box {
  classIndex: number;
  score: number;
}

export function area(b: Box): number {
  return Math.max(0, b.w) * Math.max(0, b.h);
}

export function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

export function iou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  if (inter === 0) return 0;
  return inter / (area(a) + area(b) - inter);
}

export function isIgnored(gt: GtBox): boolean {
  return gt.visibility < IGNORE_MIN_VISIBILITY || gt.w < IGNORE_MIN_SIZE_PX || gt.h < IGNORE_MIN_SIZE_PX;
}

/** Whether a detection falls on an ignore region: IoU ≥ MATCH_IOU or mostly inside it. */
export function hitsIgnore(det: Box, region: Box): boolean {
  if (iou(det, region) >= MATCH_IOU) return true;
  const a = area(det);
  return a > 0 && intersection(det, region) / a >= IGNORE_INSIDE_FRACTION;
}

/** One class's detections of one image, matched: each non-ignored detection with its score. */
export interface ClassMatches {
  scores: number[];
  tp: boolean[];
  /** Ground truths that count as positives. */
  positives: number;
  /** Ground truths that are ignore regions. */
  ignoredGt: number;
  /** Detections that fell on an ignore region. */
  ignoredDetections: number;
}

/**
 * Greedy matching of one image: per class, detections by descending score, each taking the
 * unmatched positive ground truth it overlaps most (IoU ≥ MATCH_IOU). A detection left without
 * one is ignored if it falls on an ignore region of its class, and a false positive otherwise.
 */
export function matchImage(
  detections: readonly ScoredBox[],
  truth: readonly GtBox[],
  classes: number,
): ClassMatches[] {
  const out: ClassMatches[] = [];
  for (let c = 0; c < classes; c++) {
    const gts = truth.filter((g) => g.classIndex === c);
    const positives = gts.filter((g) => !isIgnored(g));
    const ignores = gts.filter((g) => isIgnored(g));
    const matched = new Array<boolean>(positives.length).fill(false);
    const dets = detections
      .map((d, i) => ({ d, i }))
      .filter(({ d }) => d.classIndex === c)
      .sort((a, b) => b.d.score - a.d.score || a.i - b.i);
    const m: ClassMatches = {
      scores: [],
      tp: [],
      positives: positives.length,
      ignoredGt: ignores.length,
      ignoredDetections: 0,
    };
    for (const { d } of dets) {
      let best = -1;
      let bestIou = -1;
      for (let g = 0; g < positives.length; g++) {
        if (matched[g]) continue;
        const o = iou(d, positives[g]!);
        if (o >= MATCH_IOU && o > bestIou) {
          best = g;
          bestIou = o;
        }
      }
      if (best >= 0) {
        matched[best] = true;
        m.scores.push(d.score);
        m.tp.push(true);
      } else if (ignores.some((g) => hitsIgnore(d, g))) {
        m.ignoredDetections++;
      } else {
        m.scores.push(d.score);
        m.tp.push(false);
      }
    }
    out.push(m);
  }
  return out;
}

/** Matches of one class accumulated over many images. */
export class ClassAccumulator {
  readonly scores: number[] = [];
  readonly tp: boolean[] = [];
  positives = 0;
  ignoredGt = 0;
  ignoredDetections = 0;

  add(m: ClassMatches): void {
    for (let i = 0; i < m.scores.length; i++) {
      this.scores.push(m.scores[i]!);
      this.tp.push(m.tp[i]!);
    }
    this.positives += m.positives;
    this.ignoredGt += m.ignoredGt;
    this.ignoredDetections += m.ignoredDetections;
  }
}

export interface PrCurve {
  /** Cumulative recall and precision after each detection, by descending score. */
  recall: number[];
  precision: number[];
  scores: number[];
}

export function prCurve(scores: readonly number[], tp: readonly boolean[], positives: number): PrCurve {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const recall: number[] = [];
  const precision: number[] = [];
  const sorted: number[] = [];
  let t = 0;
  let f = 0;
  for (const i of order) {
    if (tp[i]) t++;
    else f++;
    recall.push(positives > 0 ? t / positives : 0);
    precision.push(t / (t + f));
    sorted.push(scores[i]!);
  }
  return { recall, precision, scores: sorted };
}

/**
 * Average precision as the area under the all-point interpolated precision-recall curve
 * (VOC 2010+, COCO): precision at recall r is the best precision at any recall ≥ r.
 * Null when the class has no positives.
 */
export function averagePrecision(
  scores: readonly number[],
  tp: readonly boolean[],
  positives: number,
): number | null {
  if (positives === 0) return null;
  const { recall, precision } = prCurve(scores, tp, positives);
  const env = interpolatedPrecision(precision);
  let ap = 0;
  let prev = 0;
  for (let i = 0; i < recall.length; i++) {
    ap += (recall[i]! - prev) * env[i]!;
    prev = recall[i]!;
  }
  return ap;
}

/** The precision envelope: each entry the best precision at that point or any later one. */
export function interpolatedPrecision(precision: readonly number[]): number[] {
  const env = precision.slice();
  for (let i = env.length - 2; i >= 0; i--) env[i] = Math.max(env[i]!, env[i + 1]!);
  return env;
}

/** The interpolated curve sampled at recall 0, 1/steps, … up to the highest recall reached. */
export function sampledPrCurve(curve: PrCurve, steps = 100): [number, number][] {
  const env = interpolatedPrecision(curve.precision);
  const out: [number, number][] = [];
  const maxRecall = curve.recall.at(-1) ?? 0;
  let k = 0;
  for (let s = 0; s <= steps; s++) {
    const r = s / steps;
    if (r > maxRecall + 1e-12) break;
    while (k < curve.recall.length && curve.recall[k]! < r - 1e-12) k++;
    if (k >= env.length) break;
    out.push([r, env[k]!]);
  }
  return out;
}

export interface OperatingPoint {
  threshold: number;
  tp: number;
  fp: number;
  /** Null when nothing scored at or above the threshold. */
  precision: number | null;
  /** Null when the class has no positives. */
  recall: number | null;
}

/** Precision and recall of the detections scoring at least `threshold`. */
export function operatingPoint(
  scores: readonly number[],
  tp: readonly boolean[],
  positives: number,
  threshold: number,
): OperatingPoint {
  let t = 0;
  let f = 0;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i]! < threshold) continue;
    if (tp[i]) t++;
    else f++;
  }
  return {
    threshold,
    tp: t,
    fp: f,
    precision: t + f > 0 ? t / (t + f) : null,
    recall: positives > 0 ? t / positives : null,
  };
}

/**
 * Expected calibration error: the gap between confidence and accuracy, averaged over `bins`
 * equal-width confidence bins weighted by their share of the samples. Bin k holds confidences in
 * (k/bins, (k+1)/bins], the first bin also 0. Null without samples.
 */
export function expectedCalibrationError(
  confidence: readonly number[],
  correct: readonly boolean[],
  bins = ECE_BINS,
): number | null {
  const n = confidence.length;
  if (n === 0) return null;
  const count = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const hits = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const c = Math.min(1, Math.max(0, confidence[i]!));
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1));
    count[b]!++;
    conf[b]! += c;
    if (correct[i]) hits[b]!++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    ece += (count[b]! / n) * Math.abs(hits[b]! / count[b]! - conf[b]! / count[b]!);
  }
  return ece;
}

/**
 * Area under the ROC curve of a score meant to be higher for positives: the chance that a random
 * positive outscores a random negative, ties counting half. Null if either side is empty.
 */
export function auroc(positives: readonly number[], negatives: readonly number[]): number | null {
  if (positives.length === 0 || negatives.length === 0) return null;
  const all = [...positives.map((s) => ({ s, p: true })), ...negatives.map((s) => ({ s, p: false }))].sort(
    (a, b) => a.s - b.s,
  );
  // Mann-Whitney U from mid-ranks.
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]!.s === all[i]!.s) j++;
    const mid = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]!.p) rankSum += mid;
    i = j;
  }
  const np = positives.length;
  return (rankSum - (np * (np + 1)) / 2) / (np * negatives.length);
}

/** Known crops: argmax against label; novel crops (label -1): only the unknown flag. */
export interface ClassifierPrediction {
  label: number;
  predicted: number;
  unknown: boolean;
  /** The model's probability of its predicted class. */
  probability: number;
  /** The best cosine similarity, the score the unknown threshold applies to. */
  similarity: number;
}

export interface ClassifierSummary {
  crops: number;
  known: number;
  novel: number;
  /** Share of known crops whose argmax is the label, whether or not flagged unknown. */
  top1: number | null;
  /** Share of known crops flagged unknown. */
  falseReject: number | null;
  /** Share of novel crops flagged unknown. */
  unknownRejection: number | null;
  /** Chance that a known crop's best similarity exceeds a novel crop's. */
  unknownAuroc: number | null;
  /** Expected calibration error of the predicted class's probability on known crops. */
  ece: number | null;
  /** Top-1 over the known crops whose label is in `subset` (e.g. the weight twins); null if none. */
  subsetTop1: number | null;
  subsetCrops: number;
  /** The most frequent mistakes on known crops, most frequent first. */
  confusion: { label: number; predicted: number; count: number }[];
}

export function summariseClassifier(
  preds: readonly ClassifierPrediction[],
  opts: { subset?: ReadonlySet<number>; confusionTop?: number } = {},
): ClassifierSummary {
  const known = preds.filter((p) => p.label >= 0);
  const novel = preds.filter((p) => p.label < 0);
  const frac = (n: number, d: number) => (d > 0 ? n / d : null);
  const correct = known.map((p) => p.predicted === p.label);
  const subset = opts.subset ? known.filter((p) => opts.subset!.has(p.label)) : [];
  const mistakes = new Map<string, { label: number; predicted: number; count: number }>();
  for (const p of known) {
    if (p.predicted === p.label) continue;
    const key = `${p.label}:${p.predicted}`;
    const e = mistakes.get(key) ?? { label: p.label, predicted: p.predicted, count: 0 };
    e.count++;
    mistakes.set(key, e);
  }
  const confusion = [...mistakes.values()]
    .sort((a, b) => b.count - a.count || a.label - b.label || a.predicted - b.predicted)
    .slice(0, opts.confusionTop ?? 10);
  return {
    crops: preds.length,
    known: known.length,
    novel: novel.length,
    top1: frac(correct.filter(Boolean).length, known.length),
    falseReject: frac(known.filter((p) => p.unknown).length, known.length),
    unknownRejection: frac(novel.filter((p) => p.unknown).length, novel.length),
    unknownAuroc: auroc(
      known.map((p) => p.similarity),
      novel.map((p) => p.similarity),
    ),
    ece: expectedCalibrationError(
      known.map((p) => p.probability),
      correct,
    ),
    subsetTop1: frac(subset.filter((p) => p.predicted === p.label).length, subset.length),
    subsetCrops: subset.length,
    confusion,
  };
}

export interface ReidSummary {
  crops: number;
  scenes: number;
  /** Crops that served as queries: their id appears under another camera in their scene. */
  queries: number;
  skipped: number;
  rank1: number | null;
  rank5: number | null;
  /** Mean over queries of the average precision of the gallery ranking. */
  mAP: number | null;
}

function normalised(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const k = s > 0 ? 1 / Math.sqrt(s) : 0;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * k;
  return out;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Cross-camera re-identification. Within each scene every crop is a query; its gallery is the
 * scene's crops from other cameras, ranked by cosine similarity. Rank-k: one of the k nearest
 * has the query's id. Queries whose id no other camera saw in the scene are skipped.
 */
export function reidMetrics(
  vectors: readonly Float32Array[],
  ids: readonly number[],
  cameras: readonly number[],
  scenes: readonly number[],
): ReidSummary {
  const n = vectors.length;
  const unit = vectors.map(normalised);
  const byScene = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const list = byScene.get(scenes[i]!) ?? [];
    list.push(i);
    byScene.set(scenes[i]!, list);
  }
  let queries = 0;
  let hit1 = 0;
  let hit5 = 0;
  let apSum = 0;
  for (const members of byScene.values()) {
    for (const q of members) {
      const gallery = members.filter((g) => cameras[g] !== cameras[q]);
      const positives = gallery.filter((g) => ids[g] === ids[q]).length;
      if (positives === 0) continue;
      queries++;
      const ranked = gallery
        .map((g) => ({ g, s: dot(unit[q]!, unit[g]!) }))
        .sort((a, b) => b.s - a.s || a.g - b.g);
      if (ids[ranked[0]!.g] === ids[q]) hit1++;
      if (ranked.slice(0, 5).some((r) => ids[r.g] === ids[q])) hit5++;
      let found = 0;
      let ap = 0;
      ranked.forEach((r, k) => {
        if (ids[r.g] !== ids[q]) return;
        found++;
        ap += found / (k + 1);
      });
      apSum += ap / positives;
    }
  }
  return {
    crops: n,
    scenes: byScene.size,
    queries,
    skipped: n - queries,
    rank1: queries > 0 ? hit1 / queries : null,
    rank5: queries > 0 ? hit5 / queries : null,
    mAP: queries > 0 ? apSum / queries : null,
  };
}
