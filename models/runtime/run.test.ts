import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WalkoutError } from '../../proto/index.ts';
import { loadClassifier, loadDetector, loadEmbedder, readManifest, readVerifiedModel } from './load.ts';
import { WorkerPool } from './pool.ts';
import { decodeJpeg } from './preprocess.ts';
import { expectRefusal, headsMissed, shipped, syntheticFrame } from './testing.ts';
import type { ClassifierModel, DetectorModel, EmbeddingModel, Timing } from './types.ts';

/**
 * Running the shipped models (or those under WALKOUT_MODELS_DIR) through the loader on a synthetic
 * frame: answers in the documented shapes, failures confined to their call, the caller's
 * event loop free while the workers infer.
 */

const det = shipped('detector');
const cls = shipped('classifier');
const emb = shipped('embedding');
let frame: Awaited<ReturnType<typeof syntheticFrame>>;
beforeAll(async () => {
  if (det.path || cls.path || emb.path) frame = await syntheticFrame();
});

const checkTiming = (t: Timing, jpeg: boolean) => {
  for (const v of Object.values(t)) expect(v).toBeGreaterThanOrEqual(0);
  expect(t.inferMs).toBeGreaterThan(0);
  expect(t.totalMs).toBeGreaterThanOrEqual(t.inferMs);
  if (jpeg) expect(t.decodeMs).toBeGreaterThan(0);
  else expect(t.decodeMs).toBe(0);
};

describe(`the detector${det.skip}`, () => {
  let model: DetectorModel;
  beforeAll(async () => {
    if (det.path) model = await loadDetector(det.path, { workers: 2 });
  });
  afterAll(() => model?.close());

  it.skipIf(!det.path)('detects in source pixels, within the image, above the threshold', async () => {
    const { detections, timing } = await model.detect(frame.jpeg);
    const m = model.manifest;
    if (m.output.kind !== 'detector') throw new Error('not a detector');
    // Asserting on each detection below says nothing if there are none: the frame's four heads
    // must be among them.
    expect(headsMissed(detections, frame.heads)).toEqual([]);
    expect(detections.length).toBeLessThanOrEqual(m.output.maxDetections);
    for (const d of detections) {
      expect(d.cls).toBe(m.classes[d.classIndex]);
      expect(d.score).toBeGreaterThanOrEqual(m.output.scoreThreshold);
      expect(d.score).toBeLessThanOrEqual(1);
      expect(d.bbox.x).toBeGreaterThanOrEqual(0);
      expect(d.bbox.y).toBeGreaterThanOrEqual(0);
      expect(d.bbox.w).toBeGreaterThan(0);
      expect(d.bbox.x + d.bbox.w).toBeLessThanOrEqual(frame.raw.width + 1e-6);
      expect(d.bbox.y + d.bbox.h).toBeLessThanOrEqual(frame.raw.height + 1e-6);
    }
    checkTiming(timing, true);
  });

  it.skipIf(!det.path)(
    'hands back the frame it decoded when asked, pixel for pixel as decoding it here',
    async () => {
      const plain = await model.detect(frame.jpeg);
      expect(plain.image).toBeUndefined();
      const kept = await model.detect(frame.jpeg, { keepImage: true });
      const here = await decodeJpeg(frame.jpeg);
      expect(kept.image).toMatchObject({ width: here.width, height: here.height });
      expect(Buffer.from(kept.image!.rgb).equals(Buffer.from(here.rgb))).toBe(true);
      expect(kept.detections).toEqual(plain.detections);
      // A frame given decoded has nothing to hand back.
      expect((await model.detect(here, { keepImage: true })).image).toBeUndefined();
    },
  );

  it.skipIf(!det.path)(
    'gives the same answer for the JPEG and its decoded pixels, on any worker',
    async () => {
      const raw = await decodeJpeg(frame.jpeg);
      const answers = await Promise.all([
        model.detect(frame.jpeg),
        model.detect(raw),
        model.detect(frame.jpeg),
      ]);
      expect(headsMissed(answers[0]!.detections, frame.heads)).toEqual([]);
      expect(answers[1]!.detections).toEqual(answers[0]!.detections);
      expect(answers[2]!.detections).toEqual(answers[0]!.detections);
      checkTiming(answers[1]!.timing, false);
    },
  );

  it.skipIf(!det.path)('rejects a bad image in that call only, and keeps serving', async () => {
    const before = await model.detect(frame.jpeg);
    await expectRefusal(model.detect(new Uint8Array([0xff, 0xd8, 1, 2, 3])), 'IMAGE_INVALID', /decoded/);
    await expectRefusal(
      model.detect({ rgb: new Uint8Array(10), width: 4, height: 4 }),
      'IMAGE_INVALID',
      /48/,
    );
    await expectRefusal(model.detect('frame.jpg' as unknown as Uint8Array), 'IMAGE_INVALID', /JPEG bytes/);
    const bad = await model.detect(new Uint8Array(3)).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(WalkoutError);
    const again = await model.detect(frame.jpeg);
    expect(headsMissed(again.detections, frame.heads)).toEqual([]);
    expect(again.detections).toEqual(before.detections);
  });

  it.skipIf(!det.path)('never blocks the caller: timers keep firing while frames are inferred', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 8 }, () => model.detect(frame.jpeg)));
    const burstMs = performance.now() - t0;
    clearInterval(timer);
    // Every frame was really inferred, not answered empty.
    for (const a of answers) expect(headsMissed(a.detections, frame.heads)).toEqual([]);
    // Inference on this thread would allow about one tick per frame; a free loop ticks every few ms.
    expect(ticks).toBeGreaterThan(Math.max(12, burstMs / 10));
  });

  it.skipIf(!det.path)('replaces a worker that dies, failing only the requests it held', async () => {
    const m = readManifest(det.path!);
    const pool = await WorkerPool.start(1, {
      task: 'detector',
      manifest: m,
      model: await readVerifiedModel(m),
      intraOpThreads: 1,
      graphOptimization: 'all',
      scoreThreshold: undefined,
    });
    const held = pool.request({ image: frame.jpeg });
    // As if the thread crashed: reach the worker behind the pool's back.
    await (pool as unknown as { slots: { worker: Worker }[] }).slots[0]!.worker.terminate();
    await expectRefusal(held, 'INFERENCE_FAILED', /worker exited/);
    const next = await pool.request({ image: frame.jpeg });
    if (next.result.task !== 'detector') throw new Error(`a ${next.result.task} answer`);
    expect(headsMissed(next.result.detections, frame.heads)).toEqual([]);
    expect(pool.size).toBe(1);
    await pool.close();
  });

  it.skipIf(!det.path)('honours a score threshold override', async () => {
    // Between the manifest's threshold and the best score on this frame, so that the override
    // keeps some detections and drops others.
    const override = 0.55;
    const strict = await loadDetector(det.path!, { scoreThreshold: override });
    const { detections } = await strict.detect(frame.jpeg);
    const all = (await model.detect(frame.jpeg)).detections;
    expect(detections.length).toBeGreaterThan(0);
    expect(detections.length).toBeLessThan(all.length);
    expect(detections).toEqual(all.filter((d) => d.score >= override));
    await strict.close();
    await expectRefusal(strict.detect(frame.jpeg), 'INFERENCE_FAILED', /closed/);
  });
});

describe(`the classifier${cls.skip}`, () => {
  let model: ClassifierModel;
  beforeAll(async () => {
    if (cls.path) model = await loadClassifier(cls.path);
  });
  afterAll(() => model?.close());

  it.skipIf(!cls.path)('answers one calibrated result per box', async () => {
    const boxes = frame.people.slice(0, 3);
    const { results, timing } = await model.classify(frame.jpeg, boxes);
    const m = model.manifest;
    if (m.output.kind !== 'classifier') throw new Error('not a classifier');
    expect(results).toHaveLength(boxes.length);
    for (const r of results) {
      expect(r.classIndex).toBeGreaterThanOrEqual(0);
      expect(r.classIndex).toBeLessThan(m.classes.length);
      expect(r.unknown).toBe(r.similarity < m.output.unknownThreshold);
      expect(r.sku).toBe(r.unknown ? null : m.classes[r.classIndex]);
      expect(r.top).toHaveLength(Math.min(5, m.classes.length));
      expect(r.top[0]).toEqual({ sku: m.classes[r.classIndex], probability: r.probability });
      expect(r.probability).toBeGreaterThan(0);
      expect(r.probability).toBeLessThanOrEqual(1);
      expect(r.embedding).toBeInstanceOf(Float32Array);
      expect(r.embedding).toHaveLength(m.output.dim);
      expect(Math.hypot(...r.embedding)).toBeCloseTo(1, 4);
    }
    checkTiming(timing, true);
  });

  it.skipIf(!cls.path)('takes the whole image without boxes, and answers nothing for no boxes', async () => {
    expect((await model.classify(frame.raw)).results).toHaveLength(1);
    expect((await model.classify(frame.raw, [])).results).toEqual([]);
  });

  it.skipIf(!cls.path)('rejects a box outside the image', async () => {
    await expectRefusal(
      model.classify(frame.raw, [{ x: 5000, y: 0, w: 10, h: 10 }]),
      'IMAGE_INVALID',
      /outside/,
    );
    await expectRefusal(
      model.classify(frame.raw, [{ x: 0, y: 0, w: Number.NaN, h: 1 }]),
      'IMAGE_INVALID',
      /boxes\[0\]/,
    );
  });
});

describe(`the embedding model${emb.skip}`, () => {
  let model: EmbeddingModel;
  beforeAll(async () => {
    if (emb.path) model = await loadEmbedder(emb.path);
  });
  afterAll(() => model?.close());

  it.skipIf(!emb.path)('returns unit vectors of the manifest dim, the same for the same crop', async () => {
    const boxes = [frame.people[0]!, frame.people[1]!, frame.people[0]!];
    const { vectors, timing } = await model.embed(frame.raw, boxes);
    const m = model.manifest;
    if (m.output.kind !== 'embedding') throw new Error('not an embedding model');
    expect(vectors).toHaveLength(3);
    for (const v of vectors) {
      expect(v).toHaveLength(m.output.dim);
      expect(Math.hypot(...v)).toBeCloseTo(1, 4);
    }
    expect(vectors[2]).toEqual(vectors[0]);
    expect(vectors[1]).not.toEqual(vectors[0]);
    checkTiming(timing, false);
  });
});
