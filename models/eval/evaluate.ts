import { WalkoutError } from '../../proto/errors.ts';
import { type HeldItem, heldItemDetections, heldItemProposals } from '../runtime/held-item.ts';
import type { Manifest } from '../runtime/manifest.ts';
import type { PixelBox, RawImage } from '../runtime/preprocess.ts';
import type { MainStreamSource, Timing } from '../runtime/types.ts';

export type { Timing };

import type { ClassifierData, DetectorSource, ReidData } from './dataset.ts';
import { LocalisationAccumulator, type SizeBand } from './localisation.ts';
import {
  averagePrecision,
  ClassAccumulator,
  type ClassifierPrediction,
  type ClassifierSummary,
  IGNORE_INSIDE_FRACTION,
  IGNORE_MIN_SIZE_PX,
  IGNORE_MIN_VISIBILITY,
  MATCH_IOU,
  matchImage,
  operatingPoint,
  prCurve,
  type ReidSummary,
  reidMetrics,
  type ScoredBox,
  sampledPrCurve,
  summariseClassifier,
} from './metrics.ts';

/**
 * Running loaded models over evaluation data and scoring them. The models are typed structurally
 * (the parts of models/runtime's DetectorModel, ClassifierModel and EmbeddingModel used here), so
 * tests can pass stand-ins, and the data as sources, so tests can pass freshly rendered frames.
 */

/** The targets a shipped model must meet on the test split. */
export const TARGETS = {
  detector: { map50: { person: 0.95, head: 0.95, hand: 0.85, item: 0.85 } as Record<string, number> },
  classifier: { top1: 0.98 },
  reid: { rank1: 0.95 },
} as const;

/** Detector score threshold for evaluation: low, so AP covers the whole precision-recall curve. */
export const EVAL_SCORE_THRESHOLD = 0.01;

export interface DetectorLike {
  readonly manifest: Manifest;
  detect(image: RawImage): Promise<{
    detections: { classIndex: number; cls: string; score: number; bbox: PixelBox }[];
    timing: Timing;
  }>;
}

export interface ClassifierLike {
  readonly manifest: Manifest;
  classify(image: RawImage): Promise<{
    results: { classIndex: number; probability: number; similarity: number; unknown: boolean }[];
    timing: Timing;
  }>;
}

export interface HeldItemLike {
  readonly manifest: Manifest;
  find(
    source: RawImage | MainStreamSource,
    proposals: PixelBox[],
  ): Promise<{ items: HeldItem[]; timing: Timing }>;
}

export interface EmbedderLike {
  readonly manifest: Manifest;
  embed(image: RawImage): Promise<{ vectors: Float32Array[]; timing: Timing }>;
}

export interface EvalOptions {
  /** Evaluate only the first N images or crops. */
  limit?: number;
  /** Requests kept in flight. */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface TimingSummary {
  /** Mean per request, as the loader reports it. */
  meanMs: Timing;
  p50TotalMs: number;
  p95TotalMs: number;
  /** Requests completed per wall-clock second, with the concurrency used. */
  perSecond: number;
  concurrency: number;
}

export interface TargetCheck {
  metric: string;
  value: number | null;
  target: number;
  pass: boolean;
}

class TimingStats {
  private readonly sum: Timing = { decodeMs: 0, preprocessMs: 0, inferMs: 0, postprocessMs: 0, totalMs: 0 };
  private readonly totals: number[] = [];
  private readonly start = performance.now();

  add(t: Timing): void {
    for (const k of Object.keys(this.sum) as (keyof Timing)[]) this.sum[k] += t[k] ?? 0;
    this.totals.push(t.totalMs);
  }

  summary(concurrency: number): TimingSummary {
    const n = Math.max(1, this.totals.length);
    const meanMs = { ...this.sum };
    for (const k of Object.keys(meanMs) as (keyof Timing)[]) meanMs[k] = round(meanMs[k] / n, 3);
    const sorted = this.totals.slice().sort((a, b) => a - b);
    const q = (f: number) =>
      round(sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] ?? 0, 3);
    const wallS = (performance.now() - this.start) / 1000;
    return {
      meanMs,
      p50TotalMs: q(0.5),
      p95TotalMs: q(0.95),
      perSecond: round(wallS > 0 ? this.totals.length / wallS : 0, 2),
      concurrency,
    };
  }
}

function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

/** Calls fn(0..count-1) with at most `concurrency` calls in flight; stops at the first error. */
export async function forEachConcurrent(
  count: number,
  concurrency: number,
  fn: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      const i = next++;
      try {
        await fn(i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
}

function limited(count: number, limit: number | undefined): number {
  return limit !== undefined && limit >= 0 ? Math.min(count, limit) : count;
}

export interface DetectorClassResult {
  /** AP at IoU 0.5; null when the class has no ground truth in the evaluated images. */
  ap50: number | null;
  /** Ground truths that count (not ignore regions). */
  gt: number;
  ignoredGt: number;
  detections: number;
  ignoredDetections: number;
  /** At the manifest's score threshold. */
  tp: number;
  fp: number;
  precision: number | null;
  recall: number | null;
}

export interface DetectorResult {
  images: number;
  classes: string[];
  map50: Record<string, number | null>;
  /** Mean of map50 over the classes that have ground truth. */
  meanAp50: number | null;
  /** The manifest's threshold, at which precision and recall are given. */
  scoreThreshold: number;
  perClass: Record<string, DetectorClassResult>;
  /** Detections whose class name is not one of the dataset's classes. */
  unknownClassDetections: number;
  rules: { iou: number; ignoreMinVisibility: number; ignoreMinSizePx: number; ignoreInsideFraction: number };
  timing: TimingSummary;
  targets: TargetCheck[];
  /**
   * With a held-item model, items come from the two stages (the detector proposes hands and items,
   * the held-item model boxes the item in a window around each): this is the detector's own item
   * class for comparison, and the second stage's cost. Null without one.
   */
  heldItem: {
    /** The held-item model's, at which the item class's precision and recall are given. */
    scoreThreshold: number;
    oneStage: DetectorClassResult;
    proposalsPerImage: number;
    timing: TimingSummary;
  } | null;
  /** Per class, how well the boxes at `scoreThreshold` fit the objects, by object size. */
  localisation: Record<string, SizeBand[]>;
  /** Interpolated precision at recall 0, 0.01, …: for charts, not for JSON output. */
  curves: Record<string, [number, number][]>;
}

/**
 * Runs the detector (which should be loaded with a low score threshold, EVAL_SCORE_THRESHOLD) over
 * the source and scores it: AP@0.5 per class, and precision and recall at `scoreThreshold`
 * (default: the manifest's).
 */
export async function evaluateDetector(
  model: DetectorLike,
  data: DetectorSource,
  opts: EvalOptions & { scoreThreshold?: number; heldItem?: HeldItemLike } = {},
): Promise<DetectorResult> {
  const classes = [...data.classes];
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const acc = classes.map(() => new ClassAccumulator());
  const item = classIndex.get('item');
  const held = opts.heldItem && item !== undefined ? opts.heldItem : undefined;
  const threshold =
    opts.scoreThreshold ??
    (model.manifest.output.kind === 'detector' ? model.manifest.output.scoreThreshold : 0.25);
  const oneStage = new ClassAccumulator();
  // Two-stage item scores are on the held-item model's scale.
  const itemThreshold =
    held?.manifest.output.kind === 'held-item' ? held.manifest.output.scoreThreshold : threshold;
  const thresholdOf = (c: number) => (held && c === item ? itemThreshold : threshold);
  const readsMainStream =
    held?.manifest.output.kind === 'held-item' && held.manifest.output.mainStreamScale > 1;
  const heldTiming = new TimingStats();
  let proposals = 0;
  const fits = classes.map(() => new LocalisationAccumulator());
  const count = limited(data.count, opts.limit);
  const concurrency = opts.concurrency ?? 2;
  const timing = new TimingStats();
  let unknownClassDetections = 0;
  let done = 0;
  await forEachConcurrent(count, concurrency, async (i) => {
    const { image, boxes, mainStream } = await data.sample(i);
    const { detections, timing: t } = await model.detect(image);
    timing.add(t);
    let dets: ScoredBox[] = [];
    for (const d of detections) {
      const c = classIndex.get(d.cls);
      if (c === undefined) unknownClassDetections++;
      else dets.push({ classIndex: c, score: d.score, ...d.bbox });
    }
    if (held) {
      oneStage.add(matchImage(dets, boxes, classes.length)[item!]!);
      const props = heldItemProposals(detections);
      if (readsMainStream && !mainStream)
        throw new WalkoutError(
          'FILE_INVALID',
          `${held.manifest.name} reads the main stream, and image ${i} has none to read (a dataset from before scenes: rebuild it)`,
        );
      const { items, timing: ht } = await held.find(
        readsMainStream ? mainStream! : image,
        props.map((p) => p.bbox),
      );
      proposals += props.length;
      heldTiming.add(ht);
      const nmsIou = held.manifest.output.kind === 'held-item' ? held.manifest.output.nmsIou : MATCH_IOU;
      dets = dets.filter((d) => d.classIndex !== item);
      for (const h of heldItemDetections(props, items, nmsIou))
        dets.push({ classIndex: item!, score: h.score, ...h.bbox });
    }
    matchImage(dets, boxes, classes.length).forEach((m, c) => {
      acc[c]!.add(m);
    });
    fits.forEach((f, c) => {
      f.add(
        dets.filter((d) => d.classIndex === c && d.score >= thresholdOf(c)),
        boxes.filter((g) => g.classIndex === c),
      );
    });
    opts.onProgress?.(++done, count);
  });
  const map50: Record<string, number | null> = {};
  const perClass: Record<string, DetectorClassResult> = {};
  const curves: Record<string, [number, number][]> = {};
  classes.forEach((name, c) => {
    const a = acc[c]!;
    perClass[name] = classResult(a, thresholdOf(c));
    map50[name] = perClass[name].ap50;
    curves[name] = sampledPrCurve(prCurve(a.scores, a.tp, a.positives));
  });
  const aps = Object.values(map50).filter((v): v is number => v !== null);
  return {
    images: count,
    classes,
    map50,
    meanAp50: aps.length > 0 ? aps.reduce((s, v) => s + v, 0) / aps.length : null,
    scoreThreshold: threshold,
    perClass,
    unknownClassDetections,
    rules: {
      iou: MATCH_IOU,
      ignoreMinVisibility: IGNORE_MIN_VISIBILITY,
      ignoreMinSizePx: IGNORE_MIN_SIZE_PX,
      ignoreInsideFraction: IGNORE_INSIDE_FRACTION,
    },
    timing: timing.summary(concurrency),
    targets: Object.entries(TARGETS.detector.map50).map(([cls, target]) =>
      check(`map50.${cls}`, map50[cls] ?? null, target),
    ),
    heldItem: held
      ? {
          scoreThreshold: itemThreshold,
          oneStage: classResult(oneStage, threshold),
          proposalsPerImage: round(proposals / Math.max(1, count), 2),
          timing: heldTiming.summary(concurrency),
        }
      : null,
    localisation: Object.fromEntries(classes.map((name, c) => [name, fits[c]!.bands()])),
    curves,
  };
}

function classResult(a: ClassAccumulator, threshold: number): DetectorClassResult {
  const ap = averagePrecision(a.scores, a.tp, a.positives);
  const op = operatingPoint(a.scores, a.tp, a.positives, threshold);
  return {
    ap50: ap,
    gt: a.positives,
    ignoredGt: a.ignoredGt,
    detections: a.scores.length,
    ignoredDetections: a.ignoredDetections,
    tp: op.tp,
    fp: op.fp,
    precision: op.precision,
    recall: op.recall,
  };
}

function check(metric: string, value: number | null, target: number): TargetCheck {
  return { metric, value, target, pass: value !== null && value >= target };
}

export interface ClassifierResult
  extends Pick<
    ClassifierSummary,
    'crops' | 'known' | 'novel' | 'top1' | 'falseReject' | 'unknownRejection' | 'unknownAuroc' | 'ece'
  > {
  /** The manifest's threshold the unknown flags were set at. */
  unknownThreshold: number | null;
  /** Top-1 on the SKUs of the same-weight pairs; null without meta.classifier.twinPairs. */
  twinTop1: number | null;
  /** SKUs in the twin pairs, and their known crops. */
  twinSkus: number;
  twinCrops: number;
  /** The most frequent mistakes on known crops. */
  confusion: { sku: string; predicted: string; count: number }[];
  timing: TimingSummary;
  targets: TargetCheck[];
}

export async function evaluateClassifier(
  model: ClassifierLike,
  data: ClassifierData,
  opts: EvalOptions = {},
): Promise<ClassifierResult> {
  const count = limited(data.labels.length, opts.limit);
  const concurrency = opts.concurrency ?? 4;
  const skuIndex = new Map(data.skus.map((s, i) => [s, i]));
  // The model's classes by name into the dataset's: -2 (never a label) for one the data lacks.
  const toData = model.manifest.classes.map((s) => skuIndex.get(s) ?? -2);
  const preds: ClassifierPrediction[] = new Array(count);
  const timing = new TimingStats();
  let done = 0;
  await forEachConcurrent(count, concurrency, async (i) => {
    const { results, timing: t } = await model.classify(await data.crop(i));
    timing.add(t);
    const r = results[0];
    if (!r) throw new Error(`the classifier returned no result for crop ${i}`);
    preds[i] = {
      label: data.labels[i]!,
      predicted: toData[r.classIndex] ?? -2,
      unknown: r.unknown,
      probability: r.probability,
      similarity: r.similarity,
    };
    opts.onProgress?.(++done, count);
  });
  const twins = data.twinPairs
    ? new Set(data.twinPairs.flat().flatMap((s) => (skuIndex.has(s) ? [skuIndex.get(s)!] : [])))
    : undefined;
  const s = summariseClassifier(preds, { subset: twins });
  const name = (i: number) => data.skus[i] ?? (i === -2 ? '(not in dataset)' : `#${i}`);
  return {
    crops: s.crops,
    known: s.known,
    novel: s.novel,
    top1: s.top1,
    falseReject: s.falseReject,
    unknownRejection: s.unknownRejection,
    unknownThreshold:
      model.manifest.output.kind === 'classifier' ? model.manifest.output.unknownThreshold : null,
    unknownAuroc: s.unknownAuroc,
    twinTop1: twins ? s.subsetTop1 : null,
    twinSkus: twins?.size ?? 0,
    twinCrops: s.subsetCrops,
    ece: s.ece,
    confusion: s.confusion.map((c) => ({ sku: name(c.label), predicted: name(c.predicted), count: c.count })),
    timing: timing.summary(concurrency),
    targets: [check('top1', s.top1, TARGETS.classifier.top1)],
  };
}

export interface ReidResult extends ReidSummary {
  /** Every crop as query and gallery, heads out of view included (a person's legs, say). */
  allViews: ReidSummary;
  dim: number;
  timing: TimingSummary;
  targets: TargetCheck[];
}

export async function evaluateReid(
  model: EmbedderLike,
  data: ReidData,
  opts: EvalOptions = {},
): Promise<ReidResult> {
  const count = limited(data.ids.length, opts.limit);
  const concurrency = opts.concurrency ?? 4;
  const vectors: Float32Array[] = new Array(count);
  const timing = new TimingStats();
  let done = 0;
  await forEachConcurrent(count, concurrency, async (i) => {
    const { vectors: v, timing: t } = await model.embed(await data.crop(i));
    timing.add(t);
    if (!v[0]) throw new Error(`the embedder returned no vector for crop ${i}`);
    vectors[i] = v[0];
    opts.onProgress?.(++done, count);
  });
  const withHead = vectors.flatMap((_, i) => (data.heads[i] === 1 ? [i] : []));
  const s = reidMetrics(
    withHead.map((i) => vectors[i]!),
    withHead.map((i) => data.ids[i]!),
    withHead.map((i) => data.cameras[i]!),
    withHead.map((i) => data.scenes[i]!),
  );
  const allViews = reidMetrics(
    vectors,
    data.ids.slice(0, count),
    data.cameras.slice(0, count),
    data.scenes.slice(0, count),
  );
  return {
    ...s,
    allViews,
    dim: vectors[0]?.length ?? 0,
    timing: timing.summary(concurrency),
    targets: [check('rank1', s.rank1, TARGETS.reid.rank1)],
  };
}
