import { describe, expect, it } from 'vitest';
import type { Manifest } from '../runtime/manifest.ts';
import type { RawImage } from '../runtime/preprocess.ts';
import type { ClassifierData, DetectorSource, ReidData } from './dataset.ts';
import {
  type ClassifierLike,
  type DetectorLike,
  type EmbedderLike,
  evaluateClassifier,
  evaluateDetector,
  evaluateReid,
  type HeldItemLike,
  type Timing,
} from './evaluate.ts';
import { FAKE_MODEL_INPUT } from './fake-data.ts';
import type { GtBox } from './metrics.ts';

const timing: Timing = { decodeMs: 0, preprocessMs: 1, inferMs: 2, postprocessMs: 1, totalMs: 4 };
const tick = () => new Promise((r) => setTimeout(r, 1));

function manifest(task: Manifest['task'], classes: string[], output: Manifest['output']): Manifest {
  return {
    schemaVersion: 1,
    name: `fake-${task}`,
    task,
    description: '',
    file: 'model.onnx',
    sha256: '0'.repeat(64),
    input: FAKE_MODEL_INPUT,
    output,
    classes,
  };
}

const detectorManifest = (classes: string[]) =>
  manifest('detector', classes, {
    kind: 'detector',
    format: 'yolov8',
    name: 'output0',
    transposed: false,
    logits: false,
    scoreThreshold: 0.25,
    nmsIou: 0.5,
    maxDetections: 300,
  });

/** Image i is a 1×1 image whose only byte pair encodes i. */
const img = (i: number): RawImage => ({ rgb: new Uint8Array([i, 0, 0]), width: 1, height: 1 });

describe('evaluateDetector', () => {
  it('scores AP and the manifest operating point, keeping at most `concurrency` frames in flight', async () => {
    const classes = ['person', 'head', 'hand', 'item'];
    const person = (x: number): GtBox => ({ classIndex: 0, x, y: 0, w: 10, h: 20, visibility: 1 });
    const truth: GtBox[][] = [[person(0)], [person(50)], [{ ...person(0), visibility: 0.1 }]];
    const data: DetectorSource = {
      classes,
      count: truth.length,
      sample: async (i) => ({ image: img(i), boxes: truth[i]! }),
    };
    const answers = [
      [
        { cls: 'person', score: 0.9, bbox: { x: 0, y: 0, w: 10, h: 20 } },
        { cls: 'person', score: 0.95, bbox: { x: 200, y: 0, w: 10, h: 20 } }, // FP
      ],
      [
        { cls: 'person', score: 0.2, bbox: { x: 51, y: 0, w: 10, h: 20 } },
        { cls: 'bicycle', score: 0.9, bbox: { x: 0, y: 0, w: 5, h: 5 } },
      ],
      [{ cls: 'person', score: 0.99, bbox: { x: 0, y: 0, w: 10, h: 20 } }], // on an ignore region
    ];
    let inFlight = 0;
    let maxInFlight = 0;
    const model: DetectorLike = {
      manifest: detectorManifest(classes),
      async detect(image) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await tick();
        inFlight--;
        const i = image.rgb[0]!;
        return {
          detections: answers[i]!.map((a) => ({ ...a, classIndex: classes.indexOf(a.cls) })),
          timing,
        };
      },
    };
    const progress: number[] = [];
    const r = await evaluateDetector(model, data, { concurrency: 2, onProgress: (d) => progress.push(d) });
    expect(maxInFlight).toBe(2);
    expect(progress).toEqual([1, 2, 3]);
    // By score: FP 0.95, TP 0.9, TP 0.2 → precision 0, 1/2, 2/3 at recall 0, 1/2, 1 → AP 2/3.
    expect(r.map50.person).toBeCloseTo(2 / 3, 12);
    expect(r.map50.head).toBeNull();
    expect(r.meanAp50).toBeCloseTo(2 / 3, 12);
    expect(r.perClass.person).toMatchObject({ gt: 2, ignoredGt: 1, detections: 3, ignoredDetections: 1 });
    // At the manifest's 0.25: FP 0.95 and TP 0.9.
    expect(r.perClass.person).toMatchObject({ tp: 1, fp: 1, precision: 0.5, recall: 0.5 });
    expect(r.scoreThreshold).toBe(0.25);
    expect(r.unknownClassDetections).toBe(1);
    expect(r.timing.meanMs.totalMs).toBe(4);
    expect(r.targets.find((t) => t.metric === 'map50.person')).toMatchObject({ target: 0.95, pass: false });
    expect(r.curves.person![0]).toEqual([0, 2 / 3]);

    const limited = await evaluateDetector(model, data, { limit: 1, scoreThreshold: 0.5 });
    expect(limited.images).toBe(1);
    expect(limited.perClass.person).toMatchObject({ gt: 1, tp: 1, fp: 1, recall: 1 });
  });

  it('takes items from the held-item model on the detector’s hands and items when it has one', async () => {
    const classes = ['person', 'head', 'hand', 'item'];
    const itemBox = { x: 100, y: 100, w: 12, h: 8 };
    const data: DetectorSource = {
      classes,
      count: 1,
      sample: async () => ({ image: img(0), boxes: [{ classIndex: 3, ...itemBox, visibility: 1 }] }),
    };
    const hand = { cls: 'hand', classIndex: 2, score: 0.64, bbox: { x: 104, y: 104, w: 6, h: 6 } };
    const detector: DetectorLike = {
      manifest: detectorManifest(classes),
      detect: async () => ({
        detections: [
          hand,
          // The detector's own item box is poor (IoU < 0.5); a weak hand gets no second look.
          { cls: 'item', classIndex: 3, score: 0.9, bbox: { x: 104, y: 100, w: 20, h: 8 } },
          { ...hand, score: 0.1, bbox: { x: 300, y: 300, w: 6, h: 6 } },
        ],
        timing,
      }),
    };
    const asked: number[] = [];
    const held: HeldItemLike = {
      manifest: manifest('held-item', ['item'], {
        kind: 'held-item',
        format: 'yolov8',
        name: 'output0',
        reachPx: 8,
        mainStreamScale: 1,
        scoreThreshold: 0.5,
        nmsIou: 0.5,
      }),
      async find(_image, proposals) {
        asked.push(proposals.length);
        // The hand's window and the item's window both find the item.
        return {
          items: [
            { proposal: 0, score: 0.9, bbox: itemBox },
            { proposal: 1, score: 0.8, bbox: { ...itemBox, x: 101 } },
          ],
          timing,
        };
      },
    };
    const r = await evaluateDetector(detector, data, { heldItem: held });
    expect(asked).toEqual([2]);
    expect(r.map50.item).toBe(1);
    // One box for the item, scored 0.9 × √0.64 (the hand's window beats the item's 0.8 × √0.9).
    expect(r.perClass.item).toMatchObject({ gt: 1, detections: 1, tp: 1, fp: 0 });
    expect(r.heldItem).toMatchObject({ scoreThreshold: 0.5, proposalsPerImage: 2 });
    expect(r.heldItem!.oneStage).toMatchObject({ ap50: 0, detections: 1, tp: 0, fp: 1 });
    expect(r.localisation.item!.some((b) => b.objects === 1 && b.fit === 1)).toBe(true);
  });
});

describe('evaluateClassifier', () => {
  it('maps the model’s classes to the dataset’s by SKU', async () => {
    const skus = ['A', 'B', 'C'];
    // The model lists its classes in another order.
    const modelClasses = ['C', 'A', 'B'];
    const labels = [0, 1, 2, 2, -1, -1];
    const predicted = ['A', 'B', 'C', 'A', 'C', 'B'];
    const unknown = [false, true, false, false, true, false];
    const data: ClassifierData = {
      skus,
      labels,
      twinPairs: [['A', 'B']],
      count: labels.length,
      crop: async (i) => img(i),
    };
    const model: ClassifierLike = {
      manifest: manifest('classifier', modelClasses, {
        kind: 'classifier',
        similarity: 'similarity',
        embedding: 'embedding',
        dim: 8,
        logitScale: 20,
        temperature: 1,
        unknownThreshold: 0.4,
      }),
      async classify(image) {
        const i = image.rgb[0]!;
        await tick();
        return {
          results: [
            {
              classIndex: modelClasses.indexOf(predicted[i]!),
              probability: 0.75,
              similarity: unknown[i] ? 0.3 : 0.7,
              unknown: unknown[i]!,
            },
          ],
          timing,
        };
      },
    };
    const r = await evaluateClassifier(model, data);
    expect(r).toMatchObject({
      crops: 6,
      known: 4,
      novel: 2,
      twinSkus: 2,
      twinCrops: 2,
      unknownThreshold: 0.4,
    });
    expect(r.top1).toBe(0.75);
    expect(r.twinTop1).toBe(1);
    expect(r.falseReject).toBe(0.25);
    expect(r.unknownRejection).toBe(0.5);
    expect(r.ece).toBeCloseTo(0, 12);
    expect(r.confusion).toEqual([{ sku: 'C', predicted: 'A', count: 1 }]);
    expect(r.targets).toEqual([{ metric: 'top1', value: 0.75, target: 0.98, pass: false }]);
  });

  it('reports no twin accuracy without twin pairs', async () => {
    const data: ClassifierData = { skus: ['A'], labels: [0], count: 1, crop: async (i) => img(i) };
    const model: ClassifierLike = {
      manifest: manifest('classifier', ['A'], {
        kind: 'classifier',
        similarity: 's',
        embedding: 'e',
        dim: 8,
        logitScale: 20,
        temperature: 1,
        unknownThreshold: 0.4,
      }),
      classify: async () => ({
        results: [{ classIndex: 0, probability: 1, similarity: 1, unknown: false }],
        timing,
      }),
    };
    const r = await evaluateClassifier(model, data);
    expect(r).toMatchObject({ top1: 1, twinTop1: null, falseReject: 0, unknownRejection: null });
  });
});

describe('evaluateReid', () => {
  it('ranks across cameras the crops that show a head, and separately every crop', async () => {
    const vectors = [
      [1, 0],
      [0.9, 0.1],
      [0, 1],
      [0.1, 0.9],
      // Person 0's legs, seen by a third camera: nearer person 1 than person 0.
      [0.2, 0.8],
    ];
    const data: ReidData = {
      ids: [0, 0, 1, 1, 0],
      cameras: [0, 1, 0, 1, 2],
      scenes: [0, 0, 0, 0, 0],
      heads: [1, 1, 1, 1, 0],
      count: 5,
      crop: async (i) => img(i),
    };
    const model: EmbedderLike = {
      manifest: manifest('embedding', [], { kind: 'embedding', name: 'embedding', dim: 2 }),
      embed: async (image) => ({ vectors: [new Float32Array(vectors[image.rgb[0]!]!)], timing }),
    };
    const r = await evaluateReid(model, data);
    expect(r).toMatchObject({ crops: 4, queries: 4, rank1: 1, mAP: 1, dim: 2 });
    expect(r.targets[0]).toMatchObject({ metric: 'rank1', pass: true });
    // Over every view the legs are one more query, and it fails.
    expect(r.allViews.crops).toBe(5);
    expect(r.allViews.queries).toBe(5);
    expect(r.allViews.rank1).toBeCloseTo(4 / 5);
  });
});
