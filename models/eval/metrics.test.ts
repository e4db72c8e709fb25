import { describe, expect, it } from 'vitest';
import {
  auroc,
  averagePrecision,
  ClassAccumulator,
  expectedCalibrationError,
  type GtBox,
  iou,
  matchImage,
  operatingPoint,
  prCurve,
  reidMetrics,
  type ScoredBox,
  sampledPrCurve,
  summariseClassifier,
} from './metrics.ts';

const gt = (classIndex: number, x: number, y: number, w: number, h: number, visibility = 1): GtBox => ({
  classIndex,
  x,
  y,
  w,
  h,
  visibility,
});
const det = (classIndex: number, score: number, x: number, y: number, w: number, h: number): ScoredBox => ({
  classIndex,
  score,
  x,
  y,
  w,
  h,
});

describe('iou', () => {
  it('is intersection over union', () => {
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(50 / 150, 12);
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 10, y: 0, w: 10, h: 10 })).toBe(0);
    expect(iou({ x: 2, y: 3, w: 4, h: 5 }, { x: 2, y: 3, w: 4, h: 5 })).toBe(1);
  });
});

describe('averagePrecision', () => {
  it('is the area under the all-point interpolated curve', () => {
    // 3 positives; by score: TP FP TP FP TP. Precision 1, 1/2, 2/3, 1/2, 3/5 at recall 1/3, 1/3, 2/3, 2/3, 1.
    // Envelope: 1, 2/3, 2/3, 3/5, 3/5 → AP = (1 + 2/3 + 3/5) / 3 = 34/45.
    const scores = [0.5, 0.9, 0.6, 0.8, 0.7];
    const tp = [true, true, false, false, true];
    expect(averagePrecision(scores, tp, 3)).toBeCloseTo(34 / 45, 12);
  });

  it('counts unreached recall as zero precision, and is null without positives', () => {
    expect(averagePrecision([0.9], [true], 2)).toBeCloseTo(0.5, 12);
    expect(averagePrecision([0.9, 0.8], [false, true], 1)).toBeCloseTo(0.5, 12);
    expect(averagePrecision([], [], 4)).toBe(0);
    expect(averagePrecision([0.9], [false], 0)).toBeNull();
  });

  it('samples the interpolated curve at fixed recall steps up to the recall reached', () => {
    const curve = prCurve([0.9, 0.8, 0.7], [true, false, true], 4);
    expect(curve.recall).toEqual([0.25, 0.25, 0.5]);
    expect(sampledPrCurve(curve, 4)).toEqual([
      [0, 1],
      [0.25, 1],
      [0.5, 2 / 3],
    ]);
  });
});

describe('matchImage', () => {
  it('matches greedily by score, each ground truth once', () => {
    const truth = [gt(0, 0, 0, 10, 10), gt(0, 100, 100, 10, 10)];
    const dets = [
      det(0, 0.8, 0, 0, 10, 10), // duplicate of the first: FP
      det(0, 0.9, 1, 0, 10, 10), // IoU 0.82 with the first: TP, taken first by score
      det(0, 0.7, 100, 100, 10, 20), // IoU exactly 0.5 with the second: TP
      det(1, 0.95, 0, 0, 10, 10), // another class: not a person match
    ];
    const [person, head] = matchImage(dets, truth, 2);
    expect(person).toEqual({
      scores: [0.9, 0.8, 0.7],
      tp: [true, false, true],
      positives: 2,
      ignoredGt: 0,
      ignoredDetections: 0,
    });
    expect(head).toEqual({ scores: [0.95], tp: [false], positives: 0, ignoredGt: 0, ignoredDetections: 0 });
  });

  it('a detection takes the unmatched ground truth it overlaps most', () => {
    const truth = [gt(0, 0, 0, 10, 10), gt(0, 2, 0, 10, 10)];
    const [m] = matchImage([det(0, 0.9, 2, 0, 10, 10), det(0, 0.8, 0, 0, 10, 10)], truth, 1);
    expect(m!.tp).toEqual([true, true]);
  });

  it('ignores detections on barely visible or tiny ground truth, which are not positives', () => {
    const truth = [
      gt(0, 0, 0, 20, 40, 0.29), // hidden: ignore region
      gt(2, 50, 50, 2, 10), // 2 px wide: ignore region
      gt(3, 100, 100, 40, 40, 0.3), // exactly 0.3 visible: a positive
    ];
    const dets = [
      det(0, 0.9, 0, 0, 20, 40), // on the hidden person: ignored
      det(0, 0.8, 5, 5, 4, 4), // inside the hidden person (IoU tiny): ignored
      det(0, 0.7, 15, 30, 20, 20), // mostly outside: FP
      det(2, 0.6, 50, 50, 2, 10), // on the tiny hand: ignored
      det(1, 0.5, 0, 0, 20, 40), // a head on the hidden person: the wrong class, FP
      det(3, 0.4, 100, 100, 40, 40),
    ];
    const [person, head, hand, item] = matchImage(dets, truth, 4);
    expect(person).toEqual({ scores: [0.7], tp: [false], positives: 0, ignoredGt: 1, ignoredDetections: 2 });
    expect(head!.tp).toEqual([false]);
    expect(hand).toEqual({ scores: [], tp: [], positives: 0, ignoredGt: 1, ignoredDetections: 1 });
    expect(item).toEqual({ scores: [0.4], tp: [true], positives: 1, ignoredGt: 0, ignoredDetections: 0 });
  });

  it('accumulates over images into AP and an operating point', () => {
    const acc = new ClassAccumulator();
    acc.add(
      matchImage([det(0, 0.9, 0, 0, 10, 10), det(0, 0.3, 50, 50, 10, 10)], [gt(0, 0, 0, 10, 10)], 1)[0]!,
    );
    acc.add(matchImage([det(0, 0.6, 0, 0, 10, 10)], [gt(0, 0, 0, 10, 10), gt(0, 30, 30, 10, 10)], 1)[0]!);
    expect(acc.positives).toBe(3);
    // By score: TP 0.9, TP 0.6, FP 0.3 → AP = 2/3.
    expect(averagePrecision(acc.scores, acc.tp, acc.positives)).toBeCloseTo(2 / 3, 12);
    expect(operatingPoint(acc.scores, acc.tp, acc.positives, 0.5)).toEqual({
      threshold: 0.5,
      tp: 2,
      fp: 0,
      precision: 1,
      recall: 2 / 3,
    });
    expect(operatingPoint(acc.scores, acc.tp, acc.positives, 0.95).precision).toBeNull();
  });
});

describe('expectedCalibrationError', () => {
  it('weights each bin’s confidence-accuracy gap by its share', () => {
    // Bin (14/15, 1]: conf 0.95, accuracy 1/2; bin (8/15, 9/15]: conf 0.55, accuracy 1. ECE = 0.5·0.45 + 0.5·0.45.
    expect(expectedCalibrationError([0.95, 0.95, 0.55, 0.55], [true, false, true, true])).toBeCloseTo(
      0.45,
      12,
    );
    expect(expectedCalibrationError([1, 1], [true, true])).toBe(0);
    expect(expectedCalibrationError([], [])).toBeNull();
  });
});

describe('auroc', () => {
  it('is the share of positive-negative pairs ranked right, ties half', () => {
    expect(auroc([0.9, 0.8], [0.8, 0.1])).toBeCloseTo(3.5 / 4, 12);
    expect(auroc([1], [0])).toBe(1);
    expect(auroc([], [1])).toBeNull();
  });
});

describe('summariseClassifier', () => {
  it('scores known and novel crops separately', () => {
    const p = (label: number, predicted: number, unknown: boolean, probability = 0.9, similarity = 0.8) => ({
      label,
      predicted,
      unknown,
      probability,
      similarity,
    });
    const s = summariseClassifier(
      [
        p(0, 0, false),
        p(0, 1, false),
        p(1, 1, true), // right class, flagged unknown: counts for top1 and as a false reject
        p(1, 0, false),
        p(2, 2, false),
        p(0, 1, false),
        p(-1, 2, true, 0.4, 0.2),
        p(-1, 1, false, 0.5, 0.85),
      ],
      { subset: new Set([0, 1]) },
    );
    expect(s).toMatchObject({ crops: 8, known: 6, novel: 2, subsetCrops: 5 });
    expect(s.top1).toBeCloseTo(3 / 6, 12);
    expect(s.falseReject).toBeCloseTo(1 / 6, 12);
    expect(s.unknownRejection).toBe(0.5);
    expect(s.subsetTop1).toBeCloseTo(2 / 5, 12);
    // Known similarities all 0.8 against novel 0.2 and 0.85: half the pairs right.
    expect(s.unknownAuroc).toBe(0.5);
    // Every known crop at 0.9 confidence, half right.
    expect(s.ece).toBeCloseTo(0.4, 12);
    expect(s.confusion).toEqual([
      { label: 0, predicted: 1, count: 2 },
      { label: 1, predicted: 0, count: 1 },
    ]);
  });
});

describe('reidMetrics', () => {
  it('ranks each scene’s other-camera crops by cosine similarity', () => {
    const v = (x: number, y: number) => new Float32Array([x, y]);
    const r = reidMetrics(
      [v(1, 0), v(9, 1), v(0, 1), v(0.8, 0.2), v(1, 1)],
      [0, 0, 1, 1, 2],
      [0, 1, 0, 1, 0],
      [0, 0, 0, 0, 1],
    );
    // Queries 0, 1, 2 find their id first; query 3 ranks id 0's crop first and its own second (AP 1/2).
    // Crop 4 is alone in its scene: skipped.
    expect(r).toEqual({ crops: 5, scenes: 2, queries: 4, skipped: 1, rank1: 0.75, rank5: 1, mAP: 3.5 / 4 });
  });

  it('skips queries whose id only the same camera saw', () => {
    const v = new Float32Array([1, 0]);
    const r = reidMetrics([v, v, v], [0, 0, 1], [0, 0, 1], [0, 0, 0]);
    expect(r).toMatchObject({ queries: 0, skipped: 3, rank1: null, mAP: null });
  });
});
