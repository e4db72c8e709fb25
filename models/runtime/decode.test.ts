import { describe, expect, it } from 'vitest';
import {
  boxToSource,
  calibratedProbabilities,
  decodeClassifier,
  decodeYolo,
  l2Normalize,
  softmax,
  yoloAnchors,
} from './decode.ts';
import { iou, nmsPerClass } from './nms.ts';
import { cropResize } from './preprocess.ts';

/** Anchors as [cx, cy, w, h, ...scores], laid out as Ultralytics does ([1, 4 + C, A]) or transposed. */
function yolo(anchors: number[][], transposed: boolean): { data: Float32Array; dims: number[] } {
  const A = anchors.length;
  const rows = anchors[0]!.length;
  const data = new Float32Array(A * rows);
  anchors.forEach((v, a) => {
    v.forEach((x, k) => {
      data[transposed ? a * rows + k : k * A + a] = x;
    });
  });
  return { data, dims: transposed ? [1, A, rows] : [1, rows, A] };
}

const opts = {
  classes: 2,
  transposed: false,
  logits: false,
  scoreThreshold: 0.25,
  nmsIou: 0.5,
  maxDetections: 300,
};

// Two overlapping boxes of class 0 (IoU 0.68), one of class 1 on top of them, one below threshold.
const anchors = [
  [100, 100, 40, 40, 0.9, 0.1],
  [104, 100, 40, 40, 0.8, 0.05],
  [100, 100, 40, 40, 0.05, 0.7],
  [300, 200, 10, 20, 0.2, 0.24],
  [300, 200, 10, 20, 0.3, 0.0],
];

describe('nms', () => {
  it('computes IoU', () => {
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 0, y: 0, w: 10, h: 10 })).toBe(1);
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(50 / 150);
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 10, y: 0, w: 10, h: 10 })).toBe(0);
    expect(iou({ x: 0, y: 0, w: 0, h: 0 }, { x: 0, y: 0, w: 0, h: 0 })).toBe(0);
  });

  it('suppresses within a class only, best first, up to maxKeep', () => {
    const b = (classIndex: number, score: number, x: number) => ({
      classIndex,
      score,
      x,
      y: 0,
      w: 10,
      h: 10,
    });
    const kept = nmsPerClass([b(0, 0.5, 1), b(0, 0.9, 0), b(1, 0.8, 0), b(0, 0.7, 50)], 0.5, 10);
    expect(kept.map((k) => [k.classIndex, k.score])).toEqual([
      [0, 0.9],
      [1, 0.8],
      [0, 0.7],
    ]);
    expect(nmsPerClass([b(0, 0.5, 100), b(0, 0.9, 0), b(1, 0.8, 0)], 0.5, 2)).toHaveLength(2);
  });

  it('keeps a box whose IoU equals the threshold', () => {
    const a = { classIndex: 0, score: 0.9, x: 0, y: 0, w: 10, h: 10 };
    const b = { classIndex: 0, score: 0.8, x: 5, y: 0, w: 10, h: 10 };
    expect(nmsPerClass([a, b], 50 / 150, 10)).toHaveLength(2);
    expect(nmsPerClass([a, b], 0.3, 10)).toHaveLength(1);
  });
});

describe('decodeYolo', () => {
  it('decodes the Ultralytics layout [1, 4 + C, A]: threshold, per-class NMS, corner boxes', () => {
    const { data, dims } = yolo(anchors, false);
    const out = decodeYolo(data, dims, opts);
    expect(out).toEqual([
      { classIndex: 0, score: expect.closeTo(0.9, 6), x: 80, y: 80, w: 40, h: 40 },
      { classIndex: 1, score: expect.closeTo(0.7, 6), x: 80, y: 80, w: 40, h: 40 },
      { classIndex: 0, score: expect.closeTo(0.3, 6), x: 295, y: 190, w: 10, h: 20 },
    ]);
  });

  it('gives the same answer for the transposed layout [1, A, 4 + C]', () => {
    const a = yolo(anchors, false);
    const b = yolo(anchors, true);
    expect(decodeYolo(b.data, b.dims, { ...opts, transposed: true })).toEqual(
      decodeYolo(a.data, a.dims, opts),
    );
  });

  it('takes every class above the threshold of one anchor (multi-label)', () => {
    const { data, dims } = yolo([[50, 50, 10, 10, 0.6, 0.5]], false);
    expect(decodeYolo(data, dims, opts).map((d) => d.classIndex)).toEqual([0, 1]);
  });

  it('applies a sigmoid to logits and thresholds in probability', () => {
    const logit = (p: number) => Math.log(p / (1 - p));
    const { data, dims } = yolo(
      anchors.map((v) => [
        ...v.slice(0, 4),
        ...v.slice(4).map((p) => logit(Math.min(Math.max(p, 1e-6), 1 - 1e-6))),
      ]),
      false,
    );
    const out = decodeYolo(data, dims, { ...opts, logits: true });
    expect(out.map((d) => [d.classIndex, +d.score.toFixed(5)])).toEqual([
      [0, 0.9],
      [1, 0.7],
      [0, 0.3],
    ]);
  });

  it('keeps at most maxDetections, the best ones', () => {
    const many = Array.from({ length: 50 }, (_, i) => [i * 20 + 10, 10, 10, 10, 0.3 + i / 100, 0]);
    const { data, dims } = yolo(many, false);
    const out = decodeYolo(data, dims, { ...opts, maxDetections: 5 });
    expect(out.map((d) => +d.score.toFixed(2))).toEqual([0.79, 0.78, 0.77, 0.76, 0.75]);
  });

  it('refuses dims that do not match the class count', () => {
    expect(yoloAnchors([1, 6, 4800], 2, false)).toBe(4800);
    expect(yoloAnchors([1, 4800, 6], 2, true)).toBe(4800);
    expect(yoloAnchors([1, 8, 4800], 2, false)).toMatch(/expected 6 values per anchor/);
    expect(yoloAnchors([6, 4800], 2, false)).toMatch(/expected \[1, 6, anchors\]/);
    expect(() => decodeYolo(new Float32Array(48), [1, 8, 6], opts)).toThrow(/6 values per anchor/);
  });
});

describe('letterbox mapping', () => {
  it('maps model-input boxes back to source pixels and clips them to the image', async () => {
    // 1280×720 letterboxed into 640×480: scale 0.5, 640×360, 60 rows of padding above.
    const img = { rgb: new Uint8Array(1280 * 720 * 3).fill(200), width: 1280, height: 720 };
    const { hwc, transform } = await cropResize(img, null, 640, 480, 'letterbox', 114);
    expect(transform).toMatchObject({ scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 60 });
    expect(hwc[0]).toBe(114); // padding
    expect(hwc[(240 * 640 + 320) * 3]).toBe(200); // image
    expect(boxToSource({ x: 100, y: 110, w: 20, h: 10 }, transform, 1280, 720)).toEqual({
      x: 200,
      y: 100,
      w: 40,
      h: 20,
    });
    // Partly in the top padding: clipped at the image's top edge.
    expect(boxToSource({ x: 0, y: 40, w: 20, h: 40 }, transform, 1280, 720)).toEqual({
      x: 0,
      y: 0,
      w: 40,
      h: 40,
    });
    // Wholly in the padding: nothing left.
    expect(boxToSource({ x: 0, y: 0, w: 20, h: 50 }, transform, 1280, 720)).toBeNull();
  });

  it('maps through a crop offset as well', async () => {
    const img = { rgb: new Uint8Array(200 * 100 * 3), width: 200, height: 100 };
    const { transform } = await cropResize(img, { x: 50, y: 20, w: 64, h: 32 }, 64, 64, 'letterbox');
    expect(transform).toMatchObject({ scaleX: 1, scaleY: 1, padX: 0, padY: 16, offsetX: 50, offsetY: 20 });
    expect(boxToSource({ x: 0, y: 16, w: 64, h: 32 }, transform, 200, 100)).toEqual({
      x: 50,
      y: 20,
      w: 64,
      h: 32,
    });
  });
});

describe('classifier outputs', () => {
  it('softmax sums to one and is stable for large values', () => {
    const p = softmax([1000, 1001, 1002]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[2]! / p[1]!).toBeCloseTo(Math.E, 9);
    expect(softmax([0, Math.log(3)], 1)[1]).toBeCloseTo(0.75, 12);
  });

  it('calibrates with logitScale / temperature', () => {
    const sim = [0.5, 0.4];
    const sharp = calibratedProbabilities(sim, { logitScale: 20, temperature: 1 });
    const soft = calibratedProbabilities(sim, { logitScale: 20, temperature: 2 });
    expect(sharp[0]).toBeCloseTo(1 / (1 + Math.exp(-2)), 12);
    expect(soft[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
  });

  it('names the best class, lists the top five and flags unknown items', () => {
    const classes = ['a', 'b', 'c', 'd', 'e', 'f'];
    const sim = [0.1, 0.7, 0.3, 0.2, 0.65, 0.0];
    const cal = { logitScale: 10, temperature: 1, unknownThreshold: 0.5 };
    const r = decodeClassifier(sim, [3, 4], classes, cal);
    expect(r).toMatchObject({ sku: 'b', classIndex: 1, similarity: expect.closeTo(0.7, 9), unknown: false });
    expect(r.top.map((t) => t.sku)).toEqual(['b', 'e', 'c', 'd', 'a']);
    expect(r.probability).toBeCloseTo(r.top[0]!.probability, 12);
    expect(Array.from(r.embedding)).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
    const u = decodeClassifier(sim, [1, 0], classes, { ...cal, unknownThreshold: 0.75 });
    expect(u).toMatchObject({ sku: null, classIndex: 1, unknown: true });
    expect(() => decodeClassifier([0.1], [1], classes, cal)).toThrow(/1 values for 6 classes/);
  });

  it('normalises vectors defensively', () => {
    expect(Array.from(l2Normalize([0, 0, 2]))).toEqual([0, 0, 1]);
    expect(Array.from(l2Normalize([0, 0]))).toEqual([0, 0]);
  });
});
