/**
 * The detector stage: camera frames through the model loader's worker threads (JPEG decoding,
 * letterboxing and inference all happen there, off the loop's thread); when re-id is on, an
 * appearance embedding of every person box for the tracker to keep identities through crowds; and
 * when arm links are on, whether each hand with two heads near it is one head's person's arm.
 */
import {
  type ArmLinkModel,
  type DetectorModel,
  type EmbeddingModel,
  findManifest,
  type ImageInput,
  loadArmLink,
  loadDetector,
  loadEmbedder,
  type Timing,
} from '../../models/runtime/index.ts';
import { WalkoutError } from '../../proto/errors.ts';
import type { FrameDetector } from '../stages.ts';
import { DEFAULT_HAND_OPTIONS } from '../tracking/hands.ts';
import type { CameraFrame, FrameDetections } from '../types.ts';
import { type ArmQueryOptions, armQueries } from './arms.ts';

export interface DetectorOptions {
  /** A detector manifest; default: the shipped one under models/. */
  manifest?: string;
  workers?: number;
  /** Threads each worker runs one inference on (onnxruntime intra-op); default 1. */
  intraOpThreads?: number;
  /**
   * Detections kept from this score: the tracker's second association stage uses the weak ones
   * (ByteTrack), so this is below the manifest's own threshold.
   */
  scoreThreshold?: number;
  /** Embed every person box with the re-id model (3–6 ms a frame, measured: edge/tracking). */
  reid?: boolean;
  /** Ask the arm-link model whose arm each hand near two heads is (edge/tracking/hands.ts uses it). */
  armLinks?: boolean;
  /** A tap for benchmarks: each frame's time in the workers, the detector's, the re-id and arm-link models'. */
  observe?: (t: { detect: Timing; embed: Timing | null; arms: Timing | null }) => void;
}

/**
 * What the edge runs with unless told otherwise (measured on the tracking benchmark). Arm links
 * are off: on 8 baseline seeds they changed no receipt, since the heads of shoppers at a shelf are
 * mostly out of the frames that see their hands (docs/benchmarks.md, stop 37).
 */
export const VISION_DEFAULTS = { scoreThreshold: 0.2, reid: true, armLinks: false } as const;

/** Hands and heads as hands.ts takes them, and a crowd's frame capped. */
const ARM_QUERIES: Omit<ArmQueryOptions, 'reachPx'> = {
  minScore: DEFAULT_HAND_OPTIONS.minScore,
  maxPairs: 12,
};

export async function openDetector(
  opts: DetectorOptions = {},
): Promise<FrameDetector & { model: DetectorModel }> {
  const manifest = opts.manifest ?? findManifest('detector');
  if (!manifest)
    throw new WalkoutError('CONFIG_INVALID', 'no detector manifest under models/ (and none given)');
  const model = await loadDetector(manifest, {
    ...(opts.workers ? { workers: opts.workers } : {}),
    ...(opts.intraOpThreads ? { intraOpThreads: opts.intraOpThreads } : {}),
    ...(opts.scoreThreshold !== undefined ? { scoreThreshold: opts.scoreThreshold } : {}),
  });
  const embedder = opts.reid
    ? await loadEmbedder(shippedManifest('embedding', 're-id'), { workers: 1 })
    : null;
  const arms = opts.armLinks
    ? await loadArmLink(shippedManifest('arm-link', 'arm links'), { workers: 1 })
    : null;
  return {
    model,
    async detect(frame: CameraFrame): Promise<FrameDetections> {
      const keepImage = embedder !== null || arms !== null;
      const { detections, timing, image } = await model.detect(frame.jpeg, { keepImage });
      const out: FrameDetections = {
        cameraId: frame.cameraId,
        frameIndex: frame.frameIndex,
        captureMs: frame.captureMs,
        detections,
      };
      const source = image ?? frame.jpeg;
      // Two models, each in its own worker: both at once.
      const [embedTiming, armTiming] = await Promise.all([
        embedder ? embedPersons(embedder, source, out) : null,
        arms ? linkArms(arms, source, out) : null,
      ]);
      opts.observe?.({ detect: timing, embed: embedTiming, arms: armTiming });
      return out;
    },
    close: async () => {
      await Promise.all([model.close(), embedder?.close(), arms?.close()]);
    },
  };
}

/** The shipped model of a task the config asked for (`what`), or a clear refusal. */
function shippedManifest(task: 'embedding' | 'arm-link', what: string): string {
  const path = findManifest(task);
  if (!path)
    throw new WalkoutError('CONFIG_INVALID', `${what} asked for, but no ${task} manifest under models/`);
  return path;
}

/** Every person box's re-id embedding into `out.embeddings`; null when there is none to embed. */
async function embedPersons(embedder: EmbeddingModel, image: ImageInput, out: FrameDetections) {
  const { detections } = out;
  const persons = detections.flatMap((d, k) => (d.cls === 'person' ? [k] : []));
  if (persons.length === 0) return null;
  const { vectors, timing } = await embedder.embed(
    image,
    persons.map((k) => detections[k]!.bbox),
  );
  const embeddings: (Float32Array | null)[] = detections.map(() => null);
  persons.forEach((k, j) => {
    embeddings[k] = vectors[j] ?? null;
  });
  out.embeddings = embeddings;
  return timing;
}

/** The arm-link model's answers for the frame's hands near two heads into `out.armLinks`; null when none is. */
async function linkArms(arms: ArmLinkModel, image: ImageInput, out: FrameDetections) {
  const queries = armQueries(out.detections, { ...ARM_QUERIES, reachPx: arms.reachPx });
  if (queries.length === 0) return null;
  const { probabilities, timing } = await arms.link(
    image,
    queries.map((q) => q.pair),
  );
  out.armLinks = queries.map((q, k) => ({ hand: q.hand, head: q.head, probability: probabilities[k]! }));
  return timing;
}
