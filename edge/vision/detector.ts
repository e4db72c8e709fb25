/**
 * The detector stage: camera frames through the model loader's worker threads (JPEG decoding,
 * letterboxing and inference all happen there, off the loop's thread), and, when re-id is on, an
 * appearance embedding of every person box for the tracker to keep identities through crowds.
 */
import {
  type DetectorModel,
  type EmbeddingModel,
  findManifest,
  loadDetector,
  loadEmbedder,
  type Timing,
} from '../../models/runtime/index.ts';
import { WalkoutError } from '../../proto/errors.ts';
import type { FrameDetector } from '../stages.ts';
import type { CameraFrame, FrameDetections } from '../types.ts';

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
  /** A tap for benchmarks: each frame's time in the workers, the detector's and the re-id model's. */
  observe?: (t: { detect: Timing; embed: Timing | null }) => void;
}

/** What the edge runs with unless told otherwise (measured on the tracking benchmark). */
export const VISION_DEFAULTS = { scoreThreshold: 0.2, reid: true } as const;

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
  let embedder: EmbeddingModel | null = null;
  if (opts.reid) {
    const reid = findManifest('embedding');
    if (!reid)
      throw new WalkoutError('CONFIG_INVALID', 're-id asked for, but no embedding manifest under models/');
    embedder = await loadEmbedder(reid, { workers: 1 });
  }
  return {
    model,
    async detect(frame: CameraFrame): Promise<FrameDetections> {
      const { detections, timing, image } = await model.detect(frame.jpeg, { keepImage: embedder !== null });
      let embedTiming: Timing | null = null;
      const out: FrameDetections = {
        cameraId: frame.cameraId,
        frameIndex: frame.frameIndex,
        captureMs: frame.captureMs,
        detections,
      };
      const persons = detections.flatMap((d, k) => (d.cls === 'person' ? [k] : []));
      if (embedder && persons.length > 0) {
        const { vectors, timing: t } = await embedder.embed(
          image ?? frame.jpeg,
          persons.map((k) => detections[k]!.bbox),
        );
        embedTiming = t;
        const embeddings: (Float32Array | null)[] = detections.map(() => null);
        persons.forEach((k, j) => {
          embeddings[k] = vectors[j] ?? null;
        });
        out.embeddings = embeddings;
      }
      opts.observe?.({ detect: timing, embed: embedTiming });
      return out;
    },
    close: async () => {
      await Promise.all([model.close(), embedder?.close()]);
    },
  };
}
