/**
 * Head detections as an overhead camera sees them: the box centred on the head's projection and
 * sized as a head at its depth (edge/tracking/config.ts headSizeM, growing with distance from the
 * nadir), so a head at standing height reads as standing and a lower one as crouching.
 */

import { type TrackerConfig, trackerConfig } from '../../edge/tracking/config.ts';
import type { Detection } from '../../models/runtime/index.ts';
import { type CameraModel, project } from '../../proto/layout/projection.ts';
import type { Vec3 } from '../../proto/layout/schema.ts';

export function headDetection(
  camera: CameraModel,
  headM: Vec3,
  score = 0.9,
  config: Pick<TrackerConfig, 'headSizeM' | 'headSizePerMetreM'> = trackerConfig(),
): Detection {
  const p = project(camera, headM)!;
  const nadirM = Math.hypot(headM[0] - camera.positionM[0], headM[1] - camera.positionM[1]);
  const side = (camera.fxPx * (config.headSizeM + config.headSizePerMetreM * nadirM)) / p.depthM;
  return {
    classIndex: 1,
    cls: 'head',
    score,
    bbox: { x: p.u - side / 2, y: p.v - side / 2, w: side, h: side },
  };
}

/** A standing shopper's head box centre over the floor point `xy`, as the tracker's head plane puts it. */
export function standingHeadM(
  camera: CameraModel,
  xy: readonly [number, number],
  config: Pick<TrackerConfig, 'headHeightM' | 'headDropPerM'> = trackerConfig(),
): Vec3 {
  const r = Math.hypot(xy[0] - camera.positionM[0], xy[1] - camera.positionM[1]);
  return [xy[0], xy[1], config.headHeightM - config.headDropPerM * r];
}
