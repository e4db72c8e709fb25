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
  /** Shelf changes under way and events not yet resolved: when each began, on which plates. */
  busy: readonly { startMs: number; plateIds: readonly string[] }[];
  /**
   * Whether a member of the visit (or a track of no visit, which may be one) stood within reach of
   * the plates between the two times; true when no position of theirs is known then.
   */
  couldReach: (visitId: string, plateIds: readonly string[], fromMs: number, toMs: number) => boolean;
  /** Additions held for confirmation (put-backs). */
  held: readonly WeightEvent[];
  /** The visit an event is given to now (asked only of held events begun before a close). */
  visitOf: (e: WeightEvent) => string | null;
  config: Pick<FusionConfig, 'closeWaitMs' | 'closeWaitHeldMs'>;
}

/**
 * The visits of `closing` that close now, taken out of it. A closing visit waits for shelf events
 * that began while its members were inside and that they could have made (a member stood within
 * reach of the plates since the event began), at most closeWaitMs: a shelf busy elsewhere in the
 * store is no reason to keep a leaver's receipt (waiting on any shelf, 28 of the baseline's 200
 * closes waited 700 ms or more: benchmarks/accuracy/close-delays.ts). A put-back of the leaver's is final only confirmAddedMs after it settles (a lean
 * lifted off would undo it), so the close waits longer for it (closeWaitHeldMs), or the shopper
 * pays for what they put back (on a kept baseline run the cloud refused such a removal, sent after
 * the close).
 */
export function dueCloses(closing: Closing[], c: CloseContext): Closing[] {
  const due: Closing[] = [];
  for (let i = 0; i < closing.length; ) {
    const v = closing[i]!;
    const ownHeld = c.held.some((e) => e.startMs <= v.tsMs && c.visitOf(e) === v.visitId);
    if (ownHeld) v.waitMs = c.config.closeWaitHeldMs;
    const busy =
      ownHeld ||
      c.busy.some((b) => b.startMs <= v.tsMs && c.couldReach(v.visitId, b.plateIds, b.startMs, v.tsMs));
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
    if (!stoodWithin(where, plateIds, geometry, config.leanReachM, true)) shelves.push(e.shelfId);
  }
  return shelves;
}

/**
 * Whether any track (`where`: each one's positions) stood within `reachM` of the plates' front
 * edges; with `facing`, only on their side (PlateGeometry.distanceToFronts).
 */
export function stoodWithin(
  where: readonly (readonly Vec2[])[],
  plateIds: readonly string[],
  geometry: PlateGeometry,
  reachM: number,
  facing: boolean,
): boolean {
  return where.some((track) => track.some((at) => geometry.distanceToFronts(plateIds, at, facing) <= reachM));
}
