/**
 * Lines going back to whom they belonged once two tracks are found to have swapped people: which
 * lines a swap moves, and the fusion moving them between two open carts.
 */
import { describe, expect, it } from 'vitest';
import { cartLines, hand, T0, twoShoppers } from '../../test/support/two-shoppers.ts';
import { FusionConfig } from './config.ts';
import { type Given, GivenLog, swapMoves } from './swaps.ts';
import { Timeline } from './timeline.ts';

const config = FusionConfig.parse({});
const members: Record<string, { visitId: string; memberNo: number }> = {
  t1: { visitId: 'v1', memberNo: 0 },
  t2: { visitId: 'v2', memberNo: 0 },
  t3: { visitId: 'v1', memberNo: 1 },
};
const memberOf = (id: string) => members[id] ?? null;
const given = (trackId: string, settledMs: number): Given => ({
  eventId: `S1@${settledMs}`,
  trackId,
  member: memberOf(trackId)!,
  take: true,
  lines: [{ sku: 'cola', quantity: 1 }],
  settledMs,
  confidence: 0.9,
  evidence: [`weight:S1@${settledMs}`],
});

describe('what a swap moves', () => {
  it('what either id was given since both last looked like themselves, to the other’s member', () => {
    const log = [
      given('t1', 1000),
      given('t2', 3000),
      given('t1', 4000),
      given('t3', 4500),
      given('t2', 9000),
    ];
    const moves = swapMoves(log, { trackIds: ['t1', 't2'], atMs: 8000, sinceMs: 2000 }, memberOf);
    expect(moves.map((m) => [m.given.settledMs, m.to.visitId, m.toTrackId])).toEqual([
      [3000, 'v1', 't1'],
      [4000, 'v2', 't2'],
    ]);
  });

  it('nothing within a party, or for a track on no visit', () => {
    const log = [given('t1', 3000), given('t3', 3500)];
    expect(swapMoves(log, { trackIds: ['t1', 't3'], atMs: 8000, sinceMs: 0 }, memberOf)).toEqual([]);
    expect(swapMoves(log, { trackIds: ['t1', 't9'], atMs: 8000, sinceMs: 0 }, memberOf)).toEqual([]);
  });

  it('the log keeps what may still move', () => {
    const log = new GivenLog(5000);
    for (const ms of [1000, 4000, 7000]) log.push(given('t1', ms));
    expect(log.entries().map((g) => g.settledMs)).toEqual([4000, 7000]);
  });
});

describe('the timeline after a swap', () => {
  it('gives each id the positions and hands the other had while they were swapped', () => {
    const tl = new Timeline(60_000);
    for (const t of [1000, 2000, 3000]) {
      tl.position('t1', t, [1, t / 1000]);
      tl.position('t2', t, [2, t / 1000]);
      tl.hand({ ...hand('t1', t, t), trackId: 't1' });
    }
    tl.exchange('t1', 't2', 1500, 3000);
    expect(tl.positions('t1', 0, 5000)).toEqual([
      [1, 1],
      [2, 2],
      [2, 3],
    ]);
    expect(tl.positions('t2', 0, 5000)).toEqual([
      [2, 1],
      [1, 2],
      [1, 3],
    ]);
    expect(tl.hands(0, 5000).map((h) => h.trackId)).toEqual(['t1', 't2', 't2']);
  });
});

describe('the fusion and a swap found later', () => {
  // No second look: the hands give the take to t2 (v2).
  const before = cartLines(twoShoppers({ config }));

  it('moves the line from the one cart to the other while both are open', () => {
    expect(before.map((c) => [c.visitId, c.sku, c.quantity])).toEqual([['v2', 'cola', 1]]);
    const after = cartLines(
      twoShoppers({ config, swap: { trackIds: ['t2', 't1'], atMs: T0 + 6000, sinceMs: T0 + 2000 } }),
    );
    expect(after.map((c) => [c.visitId, c.sku, c.quantity])).toEqual([
      ['v2', 'cola', 1],
      ['v2', 'cola', -1],
      ['v1', 'cola', 1],
    ]);
    expect(after[2]!.evidence).toContain('swap:t2/t1');
  });

  it('a line the weights doubt arrives in the other cart still waiting for review', () => {
    const swap = { trackIds: ['t2', 't1'] as [string, string], atMs: T0 + 6000, sinceMs: T0 + 2000 };
    // A review line below the hands' confidence here: only the doubt can send it to review.
    const sure = FusionConfig.parse({ reviewBelow: 0.5 });
    const out = twoShoppers({ config: sure, swap, doubt: 'uncertain' });
    const moved = cartLines(out).at(-1)!;
    expect([moved.visitId, moved.quantity]).toEqual(['v1', 1]);
    expect(moved.evidence).toContain('doubt:uncertain');
    expect(moved.confidence).toBeGreaterThanOrEqual(sure.reviewBelow);
    const v1 = out.flatMap((o) => (o.kind === 'cart' && o.cart.visitId === 'v1' ? [o.cart] : [])).at(-1)!;
    expect(v1.needsReview).toBe(true);
  });

  it('leaves a line given before the two last looked like themselves', () => {
    const after = cartLines(
      twoShoppers({ config, swap: { trackIds: ['t1', 't2'], atMs: T0 + 6000, sinceMs: T0 + 4000 } }),
    );
    expect(after).toEqual(before);
  });
});
