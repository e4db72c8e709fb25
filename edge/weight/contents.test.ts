import { describe, expect, it } from 'vitest';
import { testCatalog, testLayout } from '../../test/support/weight-trace.ts';
import { ShelfContents } from './contents.ts';

const catalog = testCatalog([
  { sku: 'cola', meanG: 352 },
  { sku: 'rice', meanG: 1012 },
]);
const layout = testLayout(
  [
    { id: 'S1', plates: 3 },
    { id: 'S2', plates: 1 },
  ],
  [
    { plateId: 'S1-P1', sku: 'cola', capacityUnits: 20 },
    { plateId: 'S1-P2', sku: 'rice', capacityUnits: 8 },
    { plateId: 'S2-P1', sku: 'cola', capacityUnits: 12 },
  ],
);

describe('ShelfContents', () => {
  it('starts every plate full, as the planogram says', () => {
    const c = new ShelfContents(layout, catalog);
    expect(c.units('S1-P1')).toEqual({ cola: 20 });
    expect(c.candidates(['S1-P2', 'S1-P3', 'S2-P1'])).toEqual([
      { plateId: 'S1-P2', sku: 'rice', units: 8 },
      { plateId: 'S2-P1', sku: 'cola', units: 12 },
    ]);
  });

  it('follows picks and put-backs, never below zero, and remembers what an empty plate held', () => {
    const c = new ShelfContents(layout, catalog);
    c.applyHypothesis({
      lines: [{ sku: 'rice', plateId: 'S1-P2', quantity: 3 }],
      probability: 1,
      logLikelihood: 0,
    });
    expect(c.units('S1-P2')).toEqual({ rice: 5 });
    c.apply('S1-P2', 'rice', -9);
    expect(c.units('S1-P2')).toEqual({ rice: 0 });
    // A put-back on another plate makes it a candidate there.
    c.applyHypothesis({
      lines: [{ sku: 'cola', plateId: 'S1-P3', quantity: -1 }],
      probability: 1,
      logLikelihood: 0,
    });
    expect(c.candidates(['S1-P3'])).toEqual([{ plateId: 'S1-P3', sku: 'cola', units: 1 }]);
  });

  it('knows which plates lie next to each other along a shelf', () => {
    const c = new ShelfContents(layout, catalog);
    expect(c.neighbours('S1-P2')).toEqual(['S1-P1', 'S1-P3']);
    expect(c.neighbours('S1-P1')).toEqual(['S1-P2']);
    expect(c.neighbours('S2-P1')).toEqual([]);
    expect(['S1-P3', 'S1-P1', 'S1-P2'].map((id) => c.order.get(id))).toEqual([2, 0, 1]);
  });
});
