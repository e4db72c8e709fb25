import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Manifest } from '../runtime/manifest.ts';
import type { LoadOptions } from '../runtime/types.ts';
import { EVAL_SCORE_THRESHOLD, type Timing } from './evaluate.ts';
import { FAKE, FAKE_MODEL_INPUT, recordByte, writeFakeDataset } from './fake-data.ts';
import { parseOptions, type Runtime, runEvaluation } from './run.ts';

const timing: Timing = { decodeMs: 0, preprocessMs: 0, inferMs: 1, postprocessMs: 0, totalMs: 1 };
const MANIFESTS: Record<string, object> = {
  detector: {
    task: 'detector',
    output: { kind: 'detector', format: 'yolov8', name: 'output0', scoreThreshold: 0.5 },
    classes: FAKE.classes,
  },
  classifier: {
    task: 'classifier',
    output: {
      kind: 'classifier',
      similarity: 'similarity',
      embedding: 'embedding',
      dim: 4,
      logitScale: 20,
      temperature: 1.25,
      unknownThreshold: 0.5,
    },
    classes: FAKE.skus,
  },
  reid: { task: 'embedding', output: { kind: 'embedding', name: 'embedding', dim: 3 }, classes: [] },
};

let dir: string;
let data: string;
let models: string;
const originals: Record<string, string> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'walkout-eval-run-'));
  data = join(dir, 'data');
  models = join(dir, 'models');
  writeFakeDataset(data);
  for (const [name, m] of Object.entries(MANIFESTS)) {
    mkdirSync(join(models, name), { recursive: true });
    writeFileSync(join(models, name, 'model.onnx'), 'not really a model');
    const text = `${JSON.stringify(
      {
        schemaVersion: 1,
        name: `fake-${name}`,
        file: 'model.onnx',
        sha256: 'a'.repeat(64),
        input: FAKE_MODEL_INPUT,
        ...m,
        training: { epochs: 3 },
      },
      null,
      2,
    )}\n`;
    originals[name] = text;
    writeFileSync(join(models, name, 'manifest.json'), text);
  }
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Answers from the fake dataset's labels; an image's index is in its pixel values. */
function fakeRuntime(seen: LoadOptions[]): Runtime {
  const indexOf = (rgb: Uint8Array, count: number) => {
    for (let i = 0; i < count; i++) if (recordByte(i) === rgb[0]) return i;
    throw new Error('not a fake image');
  };
  const manifest = (path: string) => Manifest.parse(JSON.parse(readFileSync(path, 'utf8')));
  const close = async () => {};
  return {
    async loadDetector(path, opts = {}) {
      seen.push(opts);
      return {
        manifest: manifest(path),
        close,
        async detect(image) {
          const boxes = FAKE.detectorBoxes[indexOf(image.rgb, FAKE.detectorBoxes.length)]!;
          const detections = boxes.map(([c, x, y, w, h]) => ({
            classIndex: c,
            cls: FAKE.classes[c]!,
            score: 0.9,
            bbox: { x, y, w, h },
          }));
          return { detections, timing };
        },
      };
    },
    async loadClassifier(path) {
      return {
        manifest: manifest(path),
        close,
        async classify(image) {
          const label = FAKE.classifierLabels[indexOf(image.rgb, FAKE.classifierLabels.length)]!;
          const known = label >= 0;
          return {
            results: [
              {
                classIndex: known ? label : 0,
                probability: 0.9,
                similarity: known ? 0.9 : 0.1,
                unknown: !known,
              },
            ],
            timing,
          };
        },
      };
    },
    async loadHeldItem() {
      throw new Error('no held-item model in these tests');
    },
    async loadEmbedder(path) {
      return {
        manifest: manifest(path),
        close,
        async embed(image) {
          const id = FAKE.reid.ids[indexOf(image.rgb, FAKE.reid.ids.length)]!;
          const v = new Float32Array(3);
          v[id] = 1;
          return { vectors: [v], timing };
        },
      };
    },
  };
}

describe('runEvaluation', () => {
  it('prints one JSON object and writes metrics into the manifests and the PR chart', async () => {
    const opts = parseOptions(['--json', '--write', '--data', data, '--models', models]);
    const seen: LoadOptions[] = [];
    const out: string[] = [];
    const notes: string[] = [];
    await runEvaluation(opts, async () => fakeRuntime(seen), {
      out: (t) => out.push(t),
      say: (t) => notes.push(t),
    });

    expect(seen[0]!.scoreThreshold).toBe(EVAL_SCORE_THRESHOLD);
    expect(out).toHaveLength(1);
    const json = JSON.parse(out[0]!);
    expect(Object.keys(json)).toEqual(['detector', 'classifier', 'reid']);
    // Hands and items of the fake data are all ignore regions.
    expect(json.detector.map50).toEqual({ person: 1, head: 1, hand: null, item: null });
    expect(json.detector.scoreThreshold).toBe(0.5);
    expect(json.detector).not.toHaveProperty('curves');
    expect(json.classifier).toMatchObject({ top1: 1, unknownRejection: 1, falseReject: 0, twinTop1: 1 });
    expect(json.reid).toMatchObject({ rank1: 1, queries: 4 });
    expect(notes.some((n) => /detector: 3\/3 images/.test(n))).toBe(true);

    for (const name of Object.keys(MANIFESTS)) {
      const text = readFileSync(join(models, name, 'manifest.json'), 'utf8');
      const { metrics, ...rest } = JSON.parse(text);
      // Everything before the new field is byte for byte the original.
      expect(text.startsWith(originals[name]!.slice(0, originals[name]!.lastIndexOf('\n}')))).toBe(true);
      expect(rest).toEqual(JSON.parse(originals[name]!));
      expect(metrics).toMatchObject({
        split: 'test',
        dataset: { version: 2, skus: 4, split: { detectorFrames: 3 } },
      });
      expect(typeof metrics.date).toBe('string');
      expect(Manifest.safeParse(JSON.parse(text)).success).toBe(true);
    }
    const det = JSON.parse(readFileSync(join(models, 'detector', 'manifest.json'), 'utf8'));
    expect(det.metrics.counts).toEqual({ images: 3, gt: { person: 1, head: 1, hand: 0, item: 0 } });
    expect(det.metrics.map50.person).toBe(1);
    expect(readFileSync(join(models, 'detector', 'pr.svg'), 'utf8')).toContain('person: AP50 1.000');
  });

  it('prints a table with targets, for the models asked for only', async () => {
    const opts = parseOptions(['--data', data, '--models', models, '--only', 'reid', '--limit', '2']);
    const out: string[] = [];
    const r = await runEvaluation(opts, async () => fakeRuntime([]), {
      out: (t) => out.push(t),
      say: () => {},
    });
    expect(Object.keys(r)).toEqual(['reid']);
    expect(r.reid!.crops).toBe(2);
    expect(out.join('')).toMatch(/rank1\s+1\.000\s+≥0\.95\s+pass/);
  });
});
