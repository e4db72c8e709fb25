import { describe, expect, it } from 'vitest';
import { isWalkoutError, WalkoutError } from '../../proto/index.ts';
import { checkInputs, checkOutputDims, checkOutputNames, outputProblem } from './checks.ts';
import { Manifest } from './manifest.ts';
import { fromWire, toWire } from './wire.ts';

const base = {
  schemaVersion: 1,
  name: 'm',
  file: 'model.onnx',
  sha256: 'a'.repeat(64),
  input: {
    name: 'images',
    shape: [1, 3, 480, 640],
    layout: 'NCHW',
    colour: 'RGB',
    resize: 'letterbox',
    mean: [0, 0, 0],
    std: [255, 255, 255],
  },
};
const detector = Manifest.parse({
  ...base,
  task: 'detector',
  output: { kind: 'detector', format: 'yolov8', name: 'output0' },
  classes: ['person', 'head', 'hand', 'item'],
});
const classifier = Manifest.parse({
  ...base,
  task: 'classifier',
  output: {
    kind: 'classifier',
    similarity: 'sim',
    embedding: 'emb',
    dim: 128,
    logitScale: 20,
    temperature: 1,
    unknownThreshold: 0.5,
  },
  classes: ['a', 'b', 'c'],
});

const mismatch = (fn: () => void, pattern: RegExp) => {
  try {
    fn();
  } catch (err) {
    expect(isWalkoutError(err, 'MODEL_MISMATCH')).toBe(true);
    expect((err as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected MODEL_MISMATCH');
};

describe('model checks against the manifest', () => {
  const input = { name: 'images', isTensor: true, type: 'float32', shape: [1, 3, 480, 640] };

  it('accepts a matching input, and symbolic dimensions', () => {
    expect(() => checkInputs([input], detector, 'x.onnx')).not.toThrow();
    expect(() =>
      checkInputs([{ ...input, shape: ['batch', 3, 'h', 'w'] }], detector, 'x.onnx'),
    ).not.toThrow();
    // A symbolic dimension stands for any size, a number only for its own.
    mismatch(
      () => checkInputs([{ ...input, shape: ['batch', 3, 'h', 320] }], detector, 'x.onnx'),
      /has shape \[batch, 3, h, 320\]/,
    );
  });

  it('names the file and the difference in inputs', () => {
    mismatch(
      () => checkInputs([{ ...input, name: 'input' }], detector, 'x.onnx'),
      /x\.onnx: no input named "images"/,
    );
    mismatch(
      () => checkInputs([{ ...input, shape: [1, 3, 640, 640] }], detector, 'x.onnx'),
      /input "images" has shape \[1, 3, 640, 640\], the manifest says \[1, 3, 480, 640\]/,
    );
    mismatch(() => checkInputs([{ ...input, type: 'uint8' }], detector, 'x.onnx'), /uint8, not float32/);
    mismatch(() => checkInputs([input, { ...input, name: 'extra' }], detector, 'x.onnx'), /2 inputs/);
  });

  it('requires every output the manifest reads', () => {
    expect(() => checkOutputNames(['sim', 'emb'], classifier, 'c.onnx')).not.toThrow();
    mismatch(() => checkOutputNames(['sim', 'features'], classifier, 'c.onnx'), /no output named "emb"/);
  });

  it('checks warm-up output dims per task', () => {
    expect(outputProblem(detector, 'output0', [1, 8, 4800])).toBeNull();
    expect(outputProblem(detector, 'output0', [1, 9, 4800])).toMatch(/expected 8 values per anchor/);
    expect(outputProblem(classifier, 'sim', [1, 3])).toBeNull();
    expect(outputProblem(classifier, 'sim', [1, 4])).toMatch(/expected \[1, 3\]/);
    expect(outputProblem(classifier, 'emb', [1, 64])).toMatch(/expected \[1, 128\]/);
    mismatch(() => checkOutputDims(classifier, { sim: [1, 3] }, 'c.onnx'), /output "emb" missing/);
  });
});

describe('errors across threads', () => {
  it('keep their code, message and details', () => {
    const e = new WalkoutError('MODEL_CORRUPT', 'm.onnx: sha256 is x', { file: 'm.onnx' });
    const back = fromWire(structuredClone(toWire(e, 'INFERENCE_FAILED', 'm.onnx')));
    expect(back).toBeInstanceOf(WalkoutError);
    expect(back.code).toBe('MODEL_CORRUPT');
    expect(back.message).toBe(e.message);
    expect(back.details).toEqual({ file: 'm.onnx' });
  });

  it('turn other errors into the fallback code, naming the file', () => {
    const back = fromWire(toWire(new TypeError('boom'), 'INFERENCE_FAILED', 'm.onnx'));
    expect(back.message).toBe('INFERENCE_FAILED: m.onnx: boom');
  });
});
