/**
 * The detections a kept run's detector gave (its dump's edge/dets.jsonl), served again frame by
 * frame in place of the detector. A change to what comes after detection (tracker, binding,
 * attribution, weights, carts) is then measured on every kept seed without running the models
 * or drawing the frames, several times faster than a run, on the very frames and detections the
 * run had. Boxes and embeddings come back as dets-line.ts rounded them, so a replay at the kept
 * run's own code can differ from it slightly; `bench:accuracy --detections-from` says how much.
 */

import type { FrameDetector } from '../../edge/stages.ts';
import type { FrameDetections } from '../../edge/types.ts';
import { WalkoutError } from '../../proto/errors.ts';
import { readDetections } from './dets-line.ts';

const key = (cameraId: string, frameIndex: number) => `${cameraId}#${frameIndex}`;

export function recordedDetector(path: string): FrameDetector {
  const byFrame = new Map<string, FrameDetections>();
  for (const f of readDetections(path)) byFrame.set(key(f.cameraId, f.frameIndex), f);
  return {
    async detect(frame) {
      const f = byFrame.get(key(frame.cameraId, frame.frameIndex));
      if (!f || f.captureMs !== frame.captureMs)
        throw new WalkoutError(
          'RECORDING_INVALID',
          `${path} has no detections for camera ${frame.cameraId} frame ${frame.frameIndex} at ` +
            `${frame.captureMs}: was it kept from a run of the same scenario, seed, minutes and --detect-fps?`,
          { path, cameraId: frame.cameraId, frameIndex: frame.frameIndex },
        );
      return f;
    },
    async close() {},
  };
}
