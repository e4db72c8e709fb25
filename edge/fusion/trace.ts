/**
 * The record of how a weight event was resolved (ResolveTrace), for benchmarks and diagnostics: the
 * hands and tracks around it, from TRACE_BEFORE_MS before it to a second after it settled, wider than
 * attribution's own window so that a replay can try other windows.
 */
import type { WeightEvent } from '../types.ts';
import type { Member } from './lines.ts';
import type { ResolveTrace } from './outputs.ts';
import type { Timeline } from './timeline.ts';

const TRACE_BEFORE_MS = 3000;

export function resolveTrace(
  e: WeightEvent,
  timeline: Timeline,
  memberOf: (trackId: string) => Member | null,
  what: Omit<ResolveTrace, 'event' | 'sightings' | 'tracks'>,
): ResolveTrace {
  const from = e.startMs - TRACE_BEFORE_MS;
  const to = e.settledMs + 1000;
  return {
    event: e,
    sightings: timeline.hands(from, to),
    tracks: timeline.trackIds(from, to).map((trackId) => {
      const m = memberOf(trackId);
      return {
        trackId,
        samples: timeline.samples(trackId, from, to),
        member: m ? { visitId: m.visitId, memberNo: m.memberNo } : null,
      };
    }),
    ...what,
  };
}
