/**
 * The detector stage: camera frames through the model loader's worker threads (JPEG decoding,
 * letterboxing and inference all happen there, off the loop's thread).
 */
import { type DetectorModel, findManifest, loadDetector } from '../../models/runtime/index.ts';
import { WalkoutError } from '../../proto/errors.ts';
import type { FrameDetector } from '../stages.ts';
import type { CameraFrame, FrameDetections } from '../types.ts';

export interface DetectorOptions {
  /** A detector manifest; default: the shipped one under models/. */
  manifest?: string;
  workers?: number;
}

export async function openDetector(
  opts: DetectorOptions = {},
): Promise<FrameDetector & { model: DetectorModel }> {
  const manifest = opts.manifest ?? findManifest('detector');
  if (!manifest)
    throw new WalkoutError('CONFIG_INVALID', 'no detector manifest under models/ (and none given)');
  const model = await loadDetector(manifest, opts.workers ? { workers: opts.workers } : {});
  return {
    model,
    async detect(frame: CameraFrame): Promise<FrameDetections> {
      const { detections } = await model.detect(frame.jpeg);
      return {
        cameraId: frame.cameraId,
        frameIndex: frame.frameIndex,
        captureMs: frame.captureMs,
        detections,
      };
    },
    close: () => model.close(),
  };
}
