/**
 * When a visit whose last member has left may close, and when a held put-back is final before its
 * time. Pure: the engine passes in what its parts know.
 */
import type { Vec2 } from '../../proto/layout/schema.ts';
import type { WeightEvent } from '../types.ts';
import type { PlateGeometry } from './attribute.ts';
import type { FusionConfig } from './config.ts';
import type { Closing } from './state.ts';

export interface CloseContext {
  nowMs: number;
  /** The earliest start of a shelf change under way (Infinity: none). */
  activeFromMs: number;
  /** The earliest start of an event not yet resolved (Infinity: none). */
  pendingFromMs: number;
  /** Additions held for confirmation (put-backs). */
  held: readonly WeightEvent[];
  /** The visit an event is given to now (asked only of held events begun before a close). */
  visitOf: (e: WeightEvent) => string | null;
  config: Pick<FusionConfig, 'closeWaitMs' | 'closeWaitHeldMs'>;
}

/**
 * The visits of `closing` that close now, taken out of it. A closing visit waits for shelf events
 * that began while its members were inside, at most closeWaitMs; a put-back of the leaver's is final
 * only confirmAddedMs after it settles (a lean lifted off would undo it), so the close waits longer
 * for it (closeWaitHeldMs), or the shopper pays for what they put back (on a kept baseline run the
 * cloud refused such a removal, sent after the close).
 */
export function dueCloses(closing: Closing[], c: CloseContext): Closing[] {
  const due: Closing[] = [];
  for (let i = 0; i < closing.length; ) {
    const v = closing[i]!;
    const ownHeld = c.held.some((e) => e.startMs <= v.tsMs && c.visitOf(e) === v.visitId);
    if (ownHeld) v.waitMs = c.config.closeWaitHeldMs;
    const busy = ownHeld || c.activeFromMs <= v.tsMs || c.pendingFromMs <= v.tsMs;
    if (busy && c.nowMs - v.tsMs < (v.waitMs ?? c.config.closeWaitMs)) {
      i++;
      continue;
    }
    closing.splice(i, 1);
    due.push(v);
  }
  return due;
}

/**
 * The shelves whose held additions nobody could lift a hand off: no track stood within leanReachM of
 * the plates' front edges, on their side, over the last leanClearMs of frames (`where`: each track's
 * positions over that time). Judged on the frames, so not while the cameras lag behind the weights.
 */
export function unreachableHeld(
  held: readonly WeightEvent[],
  where: readonly (readonly Vec2[])[],
  geometry: PlateGeometry,
  config: Pick<FusionConfig, 'leanReachM'>,
): string[] {
  const shelves: string[] = [];
  for (const e of held) {
    const plateIds = e.plates.map((p) => p.plateId);
    const within = (at: Vec2) => geometry.distanceToFronts(plateIds, at, true) <= config.leanReachM;
    if (!where.some((track) => track.some(within))) shelves.push(e.shelfId);
  }
  return shelves;
}
