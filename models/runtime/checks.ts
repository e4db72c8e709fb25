import { WalkoutError } from '../../proto/errors.ts';
import { yoloAnchors } from './decode.ts';
import type { Manifest } from './manifest.ts';

/**
 * Does a model file keep the promises its manifest makes? Pure: they take what onnxruntime
 * reports about the session and throw MODEL_MISMATCH naming the file and the difference.
 */

/** What onnxruntime reports about one input or output. */
export interface ValueInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  /** Numbers, or strings for symbolic dimensions; empty when unknown. */
  shape?: readonly (number | string)[];
}

const fmtShape = (s: readonly (number | string)[]) => `[${s.join(', ')}]`;

export function checkInputs(inputs: readonly ValueInfo[], m: Manifest, file: string): void {
  const want = m.input;
  const input = inputs.find((i) => i.name === want.name);
  if (!input)
    throw new WalkoutError(
      'MODEL_MISMATCH',
      `${file}: no input named "${want.name}" (the manifest's input.name); the model's inputs are ${inputs.map((i) => `"${i.name}"`).join(', ')}`,
      { file, expected: want.name, actual: inputs.map((i) => i.name) },
    );
  if (inputs.length > 1)
    throw new WalkoutError(
      'MODEL_MISMATCH',
      `${file}: the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); the loader feeds only "${want.name}"`,
      { file },
    );
  if (!input.isTensor || (input.type !== undefined && input.type !== 'float32'))
    throw new WalkoutError(
      'MODEL_MISMATCH',
      `${file}: input "${want.name}" is ${input.type ?? 'not a tensor'}, not float32`,
      {
        file,
      },
    );
  const shape = input.shape ?? [];
  // Symbolic dimensions accept the manifest's size; the warm-up run proves it.
  const differs =
    shape.length > 0 &&
    (shape.length !== want.shape.length ||
      shape.some((d, i) => typeof d === 'number' && d >= 0 && d !== want.shape[i]));
  if (differs)
    throw new WalkoutError(
      'MODEL_MISMATCH',
      `${file}: input "${want.name}" has shape ${fmtShape(shape)}, the manifest says ${fmtShape(want.shape)}`,
      { file, expected: want.shape, actual: shape },
    );
}

/** The output names the manifest reads. */
export function manifestOutputs(m: Manifest): string[] {
  const o = m.output;
  return o.kind === 'classifier' ? [o.similarity, o.embedding] : [o.name];
}

export function checkOutputNames(outputs: readonly string[], m: Manifest, file: string): void {
  const missing = manifestOutputs(m).filter((n) => !outputs.includes(n));
  if (missing.length > 0)
    throw new WalkoutError(
      'MODEL_MISMATCH',
      `${file}: no output named ${missing.map((n) => `"${n}"`).join(', ')} (named in the manifest's output); the model's outputs are ${outputs.map((n) => `"${n}"`).join(', ')}`,
      { file, missing, actual: outputs },
    );
}

/** Checks the dims of one output from a real run; null when fine, else what is wrong. */
export function outputProblem(m: Manifest, name: string, dims: readonly number[]): string | null {
  const o = m.output;
  const vector = (width: number, what: string) =>
    dims.length === 2 && dims[0] === 1 && dims[1] === width
      ? null
      : `output "${name}" has dims ${fmtShape(dims)}, expected [1, ${width}] (${what})`;
  switch (o.kind) {
    case 'detector': {
      const a = yoloAnchors(dims, m.classes.length, o.transposed);
      return typeof a === 'string' ? `output "${name}": ${a} for ${m.classes.length} classes` : null;
    }
    case 'classifier':
      return name === o.similarity
        ? vector(m.classes.length, `one similarity per class, ${m.classes.length} classes`)
        : vector(o.dim, `output.dim`);
    case 'embedding':
      return vector(o.dim, 'output.dim');
    case 'arm-link':
      return vector(1, 'one probability');
    case 'held-item': {
      const a = yoloAnchors(dims, 1, false);
      return typeof a === 'string' ? `output "${name}": ${a} for one class` : null;
    }
  }
}

/** Throws MODEL_MISMATCH when a warm-up run's outputs disagree with the manifest. */
export function checkOutputDims(m: Manifest, dims: Record<string, readonly number[]>, file: string): void {
  for (const name of manifestOutputs(m)) {
    const d = dims[name];
    const problem = d ? outputProblem(m, name, d) : `output "${name}" missing from the run`;
    if (problem)
      throw new WalkoutError('MODEL_MISMATCH', `${file}: warm-up run on zeros: ${problem}`, {
        file,
        output: name,
        dims: d,
      });
  }
}
