/**
 * The edge's track statements against the simulator's truth, as the floor MOT scores take them:
 * sampled at FLOOR_HZ on the truth's clock, each sample the latest statement (if under a second
 * old). Shared by bench-accuracy (its floor IDF1 and MOTA) and idf1-losses.ts (where IDF1 is lost),
 * so the two count the same frames.
 */
import type { Vec2 } from '../../proto/layout/schema.ts';
import type { MotFrame } from './mot-metrics.ts';
import type { Truth } from './truth.ts';

export const FLOOR_HZ = 5;

export interface TrackStatement {
  tsMs: number;
  /** The tracks stated (lost ones already left out). */
  hyp: { id: string; xyM: Vec2 }[];
}

/** `idPrefix` keeps runs apart when frames of several are scored together (two seeds' "t1" differ). */
export function floorFrames(statements: readonly TrackStatement[], truth: Truth, idPrefix = ''): MotFrame[] {
  const stepMs = 1000 / FLOOR_HZ;
  const out: MotFrame[] = [];
  let i = 0;
  let latest: TrackStatement | undefined;
  let lastAt = Number.NEGATIVE_INFINITY;
  for (const t of truth.timesMs) {
    if (t < lastAt + stepMs) continue;
    while (i < statements.length && statements[i]!.tsMs <= t) latest = statements[i++];
    out.push({
      gt: [...truth.at(t)!].map(([id, xyM]) => ({ id: `${idPrefix}${id}`, xyM })),
      hyp:
        latest && t - latest.tsMs < 1000
          ? latest.hyp.map((h) => ({ id: `${idPrefix}${h.id}`, xyM: h.xyM }))
          : [],
    });
    lastAt = t;
  }
  return out;
}
