/**
 * The edge's tracks as MOTChallenge text, for any standard MOT evaluator to score against the
 * simulator's truth (truth/mot/{cameraId}/gt/gt.txt per camera; truth/positions.jsonl on the floor).
 *
 * Ids: MOTChallenge ids are integers; a track `t12` is written as 12.
 *
 * Per camera (MOTChallenge 2D): `frame,id,bb_left,bb_top,bb_width,bb_height,conf,-1,-1,-1`, frame
 * being the camera's X-Frame-Index, the box the person detection the tracker assigned to the track.
 *
 * Floor plane (MOTChallenge 3D, as MOT15's 3D files): `frame,id,-1,-1,-1,-1,conf,x,y,z` with x, y
 * the track's floor position in store metres and z = 0. Frames are ticks of a fixed floor clock:
 * frame = round((tMs − originMs) / (1000 / floorHz)) + 1, originMs the first tick (the recording's
 * start). Score with a 0.5 m match distance on (x, y).
 */
import type { Detection } from '../../models/runtime/index.ts';
import { WalkoutError } from '../../proto/errors.ts';
import type { Track } from '../types.ts';

export function motId(trackId: string): number {
  const m = /^t(\d+)$/.exec(trackId);
  if (!m)
    throw new WalkoutError('TRACK_ID_INVALID', `track id ${JSON.stringify(trackId)} has no number`, {
      trackId,
    });
  return Number(m[1]);
}

const fixed = (v: number, d: number) => Number(v.toFixed(d)).toString();

/** One camera frame's lines: every person detection assigned to a track. */
export function motCameraLines(
  frameIndex: number,
  detections: readonly Detection[],
  personTrack: readonly (string | null)[],
): string[] {
  const lines: string[] = [];
  for (const [i, d] of detections.entries()) {
    const trackId = personTrack[i];
    if (d.cls !== 'person' || !trackId) continue;
    const { x, y, w, h } = d.bbox;
    lines.push(
      `${frameIndex},${motId(trackId)},${fixed(x, 1)},${fixed(y, 1)},${fixed(w, 1)},${fixed(h, 1)},${fixed(d.score, 3)},-1,-1,-1`,
    );
  }
  return lines;
}

/** The floor frame number of a tick at `tMs`. */
export function floorFrame(tMs: number, originMs: number, floorHz: number): number {
  return Math.round(((tMs - originMs) * floorHz) / 1000) + 1;
}

/** One floor tick's lines: the confirmed (not lost) tracks at that tick. */
export function motFloorLines(frame: number, tracks: readonly Track[]): string[] {
  return tracks
    .filter((t) => t.state === 'confirmed')
    .map(
      (t) =>
        `${frame},${motId(t.trackId)},-1,-1,-1,-1,1,${fixed(t.floorXyM[0], 3)},${fixed(t.floorXyM[1], 3)},0`,
    );
}

/** Parses floor lines back (for evaluators and tests): frame → [{ id, x, y }]. */
export function parseMotFloor(text: string): Map<number, { id: number; xyM: [number, number] }[]> {
  const out = new Map<number, { id: number; xyM: [number, number] }[]>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(',').map(Number);
    const list = out.get(f[0]!) ?? [];
    list.push({ id: f[1]!, xyM: [f[7]!, f[8]!] });
    out.set(f[0]!, list);
  }
  return out;
}
