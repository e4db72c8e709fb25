import { z } from 'zod';
import { MAIN_STREAM_SCALE } from '../../proto/camera/stream.ts';

/**
 * A model's manifest: everything a consumer needs to feed the model and read its answers, so
 * that no caller hard-codes a model's shapes, and a store can drop in its own model by writing one.
 */

const Rgb = z.tuple([z.number(), z.number(), z.number()]);
const Int = z.number().int().positive();

export const ModelInput = z
  .object({
    name: z.string().min(1).describe('the ONNX graph input name'),
    shape: z.tuple([z.literal(1), z.literal(3), Int, Int]).describe('[1, 3, height, width]'),
    layout: z.literal('NCHW'),
    colour: z.literal('RGB'),
    resize: z
      .enum(['letterbox', 'stretch', 'window', 'strip'])
      .describe(
        'letterbox keeps the aspect ratio and pads (Ultralytics); stretch fills the input; window cuts ' +
          'an input-sized window of the source at its own resolution, centred on a point, padded outside it; ' +
          'strip samples the source at its own resolution along a line from one point towards another ' +
          '(the arm-link model: hand towards head)',
      ),
    padValue: z.number().int().min(0).max(255).default(114).describe('grey level of letterbox padding'),
    mean: Rgb.describe('per channel, subtracted from the 0..255 value'),
    std: Rgb.describe('per channel, divides the value after the mean: (v - mean) / std'),
  })
  .strict();
export type ModelInput = z.infer<typeof ModelInput>;

export const DetectorOutput = z
  .object({
    kind: z.literal('detector'),
    format: z
      .literal('yolov8')
      .describe('one tensor [1, 4 + classes, anchors]: cx, cy, w, h in input pixels, then class scores'),
    name: z.string().min(1),
    /** Ultralytics exports [1, 4 + C, A]; some converters emit [1, A, 4 + C]. */
    transposed: z.boolean().default(false),
    /** Scores already in 0..1 (Ultralytics and ours); true if the graph emits logits. */
    logits: z.boolean().default(false),
    scoreThreshold: z.number().min(0).max(1).default(0.25),
    nmsIou: z.number().min(0).max(1).default(0.5),
    maxDetections: Int.default(300),
  })
  .strict();

export const ClassifierOutput = z
  .object({
    kind: z.literal('classifier'),
    similarity: z.string().min(1).describe('[1, classes]: cosine similarity to each class prototype'),
    embedding: z.string().min(1).describe('[1, dim]: L2-normalised item embedding'),
    dim: Int,
    logitScale: z.number().positive().describe('softmax(similarity * logitScale / temperature)'),
    temperature: z.number().positive().describe('fitted on the validation split for calibration'),
    unknownThreshold: z
      .number()
      .min(-1)
      .max(1)
      .describe('best similarity below this: an item the model was not trained on'),
  })
  .strict();

export const EmbeddingOutput = z
  .object({
    kind: z.literal('embedding'),
    name: z.string().min(1).describe('[1, dim]: L2-normalised appearance vector'),
    dim: Int,
  })
  .strict();

export const HeldItemOutput = z
  .object({
    kind: z.literal('held-item'),
    format: z
      .literal('yolov8')
      .describe('[1, 5, anchors]: cx, cy, w, h in window pixels, then the item score'),
    name: z.string().min(1),
    reachPx: z
      .number()
      .positive()
      .describe(
        "in input pixels: a box counts for its window only if it comes this close to the window's centre",
      ),
    mainStreamScale: z
      .number()
      .min(1)
      .max(MAIN_STREAM_SCALE)
      .default(1)
      .describe(
        'main-stream pixels per detect-stream pixel: 1 cuts the window from the detect-stream frame; ' +
          'above 1 it is read from the camera main stream (region.jpg), a square of input side / scale ' +
          'detect-stream pixels',
      ),
    scoreThreshold: z.number().min(0).max(1).default(0.3),
    nmsIou: z.number().min(0).max(1).default(0.5),
  })
  .strict();

export const ArmLinkOutput = z
  .object({
    kind: z.literal('arm-link'),
    name: z.string().min(1).describe('[1, 1]: probability that the hand and the head are one person'),
    handAtPx: z
      .number()
      .int()
      .nonnegative()
      .describe("the hand sits this many input pixels from the strip's left edge, on its middle row"),
  })
  .strict();

export const ModelTask = z.enum(['detector', 'classifier', 'embedding', 'held-item', 'arm-link']);

export const Manifest = z
  .object({
    schemaVersion: z.literal(1),
    name: z.string().min(1),
    task: ModelTask,
    description: z.string().default(''),
    file: z.string().min(1).describe('the ONNX file, relative to the manifest'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256'),
    opset: Int.optional(),
    input: ModelInput,
    output: z.discriminatedUnion('kind', [
      DetectorOutput,
      ClassifierOutput,
      EmbeddingOutput,
      HeldItemOutput,
      ArmLinkOutput,
    ]),
    classes: z
      .array(z.string().min(1))
      .describe(
        'detector: class names; classifier: SKUs; held-item: ["item"]; arm-link: ["same-person"]; embedding: []',
      ),
    training: z.record(z.string(), z.unknown()).optional().describe('absent for a model trained elsewhere'),
    metrics: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.task !== m.output.kind)
      ctx.addIssue({ code: 'custom', path: ['output', 'kind'], message: `must match task ${m.task}` });
    if (m.task !== 'embedding' && m.classes.length === 0)
      ctx.addIssue({ code: 'custom', path: ['classes'], message: `a ${m.task} needs its class list` });
    if ((m.task === 'held-item') !== (m.input.resize === 'window'))
      ctx.addIssue({
        code: 'custom',
        path: ['input', 'resize'],
        message: 'a held-item model, and only it, reads a window',
      });
    if ((m.task === 'arm-link') !== (m.input.resize === 'strip'))
      ctx.addIssue({
        code: 'custom',
        path: ['input', 'resize'],
        message: 'an arm-link model, and only it, reads a strip',
      });
    if (m.output.kind === 'arm-link' && m.output.handAtPx >= m.input.shape[3])
      ctx.addIssue({
        code: 'custom',
        path: ['output', 'handAtPx'],
        message: `must lie within the input's width, ${m.input.shape[3]}`,
      });
    if (m.output.kind === 'held-item') {
      const [, , h, w] = m.input.shape;
      const side = w / m.output.mainStreamScale;
      if (h !== w || Math.abs(side - Math.round(side)) > 1e-9)
        ctx.addIssue({
          code: 'custom',
          path: ['output', 'mainStreamScale'],
          message: `a held-item input must be square and a whole number of detect-stream pixels at this scale, got ${w}×${h} at ${m.output.mainStreamScale}`,
        });
    }
  });
export type Manifest = z.infer<typeof Manifest>;
