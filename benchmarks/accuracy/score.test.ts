import { describe, expect, it } from 'vitest';
import { type ScoredReport, type ScoreInput, score } from './score.ts';

const cart = (
  visitId: string,
  sku: string,
  quantity: number,
  grams = 0,
  confidence = 0.95,
  evidence: string[] = [],
): ScoredReport => ({
  body: 'cart',
  cart: { visitId, memberNo: 0, sku, quantity, confidence, evidence, grams },
});
const closed = (visitId: string): ScoredReport => ({
  body: 'visit',
  visit: { visitId, kind: 'VISIT_CLOSED', memberNo: 0 },
});

const base = (reports: ScoredReport[]): ScoreInput => ({
  truthVisits: [
    { visitId: 'v1', kind: 'shopper', closedMs: 10, cart: [{ sku: 'cola', quantity: 2, weightG: 700 }] },
    {
      visitId: 'v2',
      kind: 'shopper',
      closedMs: 10,
      cart: [
        { sku: 'tea', quantity: 1, weightG: 100 },
        { sku: 'banana', quantity: 1, weightG: 480 },
      ],
    },
    // Not scored: a tailgater's visit, and a visit still open when the run ended.
    { visitId: 'v3', kind: 'tailgater', closedMs: 10, cart: [{ sku: 'tea', quantity: 1, weightG: 100 }] },
    { visitId: 'v4', kind: 'shopper', closedMs: null, cart: [] },
  ],
  truthEvents: [
    { type: 'pick', tsMs: 1000, plateId: 'P1', sku: 'cola', quantity: 2 },
    { type: 'pick', tsMs: 5000, plateId: 'P2', sku: 'tea', quantity: 1 },
  ],
  reports,
  visitOf: (id) => id.replace('edge-', ''),
  soldByWeight: new Set(['banana']),
  shelfOf: (p) => (p === 'P1' ? 'S1' : 'S2'),
  weightEvents: [
    { shelfId: 'S1', plateIds: ['P1'], startMs: 900, settledMs: 1600 },
    { shelfId: 'S1', plateIds: ['P1'], startMs: 20_000, settledMs: 20_500 },
  ],
  reviewBelow: 0.6,
  gramsTolerance: 10,
});

describe('scoring receipts against the truth', () => {
  it('counts a receipt perfect only when closed and equal to the true cart, grams within tolerance', () => {
    const s = score(
      base([
        cart('edge-v1', 'cola', 1),
        cart('edge-v1', 'cola', 1),
        closed('edge-v1'),
        cart('edge-v2', 'tea', 1),
        cart('edge-v2', 'banana', 0, 485),
        closed('edge-v2'),
      ]),
    );
    expect(s.visits).toBe(2);
    expect(s.perfectReceipts).toBe(1);
    expect(s.perfectUnreviewed).toBe(1);
    expect(s.itemPrecision).toBe(1);
    expect(s.itemRecall).toBe(1);
    expect(s.imperfect).toEqual([]);
  });

  it('names what went wrong: a missing item, an extra one, grams off, a visit never closed', () => {
    const s = score(
      base([
        cart('edge-v1', 'cola', 1),
        cart('edge-v1', 'tea', 1, 0, 0.4),
        cart('edge-v2', 'tea', 1),
        cart('edge-v2', 'banana', 0, 300),
        closed('edge-v1'),
      ]),
    );
    expect(s.perfectReceipts).toBe(0);
    expect(s.imperfect).toEqual([
      {
        visitId: 'v1',
        closed: true,
        missing: [{ sku: 'cola', quantity: 1, grams: 0 }],
        extra: [{ sku: 'tea', quantity: 1, grams: 0 }],
      },
      { visitId: 'v2', closed: false, missing: [{ sku: 'banana', quantity: 0, grams: 180 }], extra: [] },
    ]);
    // Right: cola 1 (v1), tea 1 (v2); claimed: cola 1 + tea 1 + tea 1 + banana 1; truth: 2 + 1 + 1.
    expect(s.itemPrecision).toBeCloseTo(2 / 4);
    expect(s.itemRecall).toBeCloseTo(2 / 4);
    expect(s.reviewRate).toBe(0.5);
  });

  it('counts a right receipt sent to review as perfect, but not as perfect and unreviewed', () => {
    /** Both receipts right: v1's cola line and v2's tea line as given. */
    const right = (cola: ScoredReport, tea: ScoredReport) =>
      score(base([cola, closed('edge-v1'), tea, cart('edge-v2', 'banana', 0, 480), closed('edge-v2')]));
    const s = right(cart('edge-v1', 'cola', 2, 0, 0.5), cart('edge-v2', 'tea', 1));
    expect(s.perfectReceipts).toBe(1);
    expect(s.reviewRate).toBe(0.5);
    expect(s.perfectUnreviewed).toBe(0.5);
    // Sure, but doubted by the edge: the cloud reviews it, so does the score.
    const t = right(cart('edge-v1', 'cola', 2), cart('edge-v2', 'tea', 1, 0, 0.95, ['doubt:lookalike']));
    expect(t.reviewRate).toBe(0.5);
  });

  it('matches weight events to true picks on the same shelf, near in time', () => {
    const s = score(base([]));
    expect(s.eventRecall).toBe(0.5);
    expect(s.eventPrecision).toBe(0.5);
  });
});
