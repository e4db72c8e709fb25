import { describe, expect, it } from 'vitest';
import { inDoubt, netCart, type PriceEntry, planMoney, priceCart } from './pricing.ts';

const ev = (sku: string, quantity: number, confidence = 0.99, grams = 0) => ({
  sku,
  quantity,
  grams,
  confidence,
  evidence: [`${sku}-${quantity}`],
});

const book = new Map<string, PriceEntry>([
  ['cola', { name: 'Cola 330 ml', soldBy: 'unit', priceMinor: 129 }],
  ['apples', { name: 'Apples', soldBy: 'weight', priceMinor: 299 }],
  ['tea', { name: 'Tea', soldBy: 'unit', priceMinor: 250 }],
]);

describe('pricing a cart', () => {
  it('nets takes and put-backs in any order, keeping the least confident take and all evidence', () => {
    const events = [ev('cola', 2, 0.95), ev('tea', 1), ev('cola', -1), ev('tea', -1), ev('cola', 1, 0.6)];
    const forward = netCart(events);
    expect(netCart([...events].reverse())).toEqual(forward);
    expect(forward).toEqual([
      { sku: 'cola', quantity: 2, grams: 0, confidence: 0.6, evidence: ['cola--1', 'cola-1', 'cola-2'] },
    ]);
  });

  it('is in doubt when any event, netted away or not, is unsure or names a doubt', () => {
    const sure = [ev('cola', 1), ev('tea', 1, 0.9)];
    expect(inDoubt(sure, 0.6)).toBe(false);
    // A put-back believed 0.4 nets the cola away: the line is gone, the doubt is not.
    const unsurePutBack = [...sure, ev('cola', -1, 0.4)];
    expect(netCart(unsurePutBack).map((l) => l.sku)).toEqual(['tea']);
    expect(inDoubt(unsurePutBack, 0.6)).toBe(true);
    const twin = [...sure, { ...ev('cola', -1, 0.9), evidence: ['weight:S1@1', 'doubt:lookalike'] }];
    expect(inDoubt(twin, 0.6)).toBe(true);
    // A store with no review threshold reviews nothing.
    expect(inDoubt(unsurePutBack, null)).toBe(false);
    expect(inDoubt(twin, null)).toBe(false);
  });

  it('prices units and weights, applies the best multibuy, and earns points on the total', () => {
    const cart = netCart([ev('cola', 7), ev('apples', 1, 0.9, 1234), ev('ghost', 1)]);
    const r = priceCart(
      cart,
      book,
      [
        { sku: 'cola', name: '3 for 3.00', buyQty: 3, bundleMinor: 300 },
        { sku: 'cola', name: '2 for 2.40', buyQty: 2, bundleMinor: 240 },
      ],
      2,
    );
    expect(r.lines.map((l) => [l.sku, l.amountMinor, l.discountMinor, l.promotion])).toEqual([
      ['apples', 369, 0, null],
      ['cola', 903, 174, '3 for 3.00'],
    ]);
    expect([r.subtotalMinor, r.discountMinor, r.totalMinor, r.pointsEarned]).toEqual([1272, 174, 1098, 20]);
    expect(r.unpriced).toEqual(['ghost']);
  });

  it('takes the money from the hold first and charges only what exceeds it', () => {
    expect(planMoney(0, 5000)).toEqual({ kind: 'release' });
    expect(planMoney(4999, 5000)).toEqual({ kind: 'capture', captureMinor: 4999 });
    expect(planMoney(5000, 5000)).toEqual({ kind: 'capture', captureMinor: 5000 });
    expect(planMoney(7250, 5000)).toEqual({
      kind: 'capture-and-charge',
      captureMinor: 5000,
      chargeMinor: 2250,
    });
  });
});
