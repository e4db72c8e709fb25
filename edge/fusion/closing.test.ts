import { describe, expect, it } from 'vitest';
import type { WeightEvent } from '../types.ts';
import { type CloseContext, dueCloses } from './closing.ts';
import type { Closing } from './state.ts';

/** Visit v1's last member left at 10 000; a shelf elsewhere began to change at 9 500 and is still busy. */
function context(over: Partial<CloseContext> = {}): CloseContext {
  return {
    nowMs: 10_100,
    busy: [{ startMs: 9_500, plateIds: ['FAR-P1'] }],
    couldReach: (_visit, plateIds) => plateIds.includes('NEAR-P1'),
    held: [],
    visitOf: () => null,
    config: { closeWaitMs: 800, closeWaitHeldMs: 6000 },
    ...over,
  };
}
const leaving = (): Closing[] => [{ visitId: 'v1', tsMs: 10_000 }];

describe('when a leaver’s visit closes', () => {
  it('does not wait for a shelf busy where none of its members could reach', () => {
    expect(dueCloses(leaving(), context()).map((c) => c.visitId)).toEqual(['v1']);
  });

  it('waits, at most closeWaitMs, for a shelf a member stood within reach of', () => {
    const near = { busy: [{ startMs: 9_500, plateIds: ['NEAR-P1'] }] };
    expect(dueCloses(leaving(), context(near))).toEqual([]);
    expect(dueCloses(leaving(), context({ ...near, nowMs: 10_800 })).map((c) => c.visitId)).toEqual(['v1']);
  });

  it('does not wait for a change that began after the exit', () => {
    const later = { busy: [{ startMs: 10_050, plateIds: ['NEAR-P1'] }] };
    expect(dueCloses(leaving(), context(later)).map((c) => c.visitId)).toEqual(['v1']);
  });

  it("waits longer for the leaver's own held put-back", () => {
    const held = [{ startMs: 9_000, shelfId: 'S' } as WeightEvent];
    const own = { held, visitOf: () => 'v1', busy: [], nowMs: 12_000 };
    expect(dueCloses(leaving(), context(own))).toEqual([]);
    expect(dueCloses(leaving(), context({ ...own, nowMs: 16_000 })).map((c) => c.visitId)).toEqual(['v1']);
  });
});
