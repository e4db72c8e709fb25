import { describe, expect, it } from 'vitest';
import { testCatalog, testLayout } from '../../test/support/weight-trace.ts';
import type { WeightEvent } from '../types.ts';
import { defaultWeightConfig } from './config.ts';
import { ShelfContents } from './contents.ts';
import { doubt, identify } from './identify.ts';

const catalog = testCatalog([
  { sku: 'cola', meanG: 352, sdG: 4.2 },
  { sku: 'lemon', meanG: 349, sdG: 4.2 }, // cola's weight twin, < 1 % apart
  { sku: 'rice', meanG: 1012, sdG: 12 },
  { sku: 'crisps', meanG: 105.5, sdG: 1.3 },
  { sku: 'crisps-lookalike', meanG: 103.9, sdG: 1.3 },
  { sku: 'tea', meanG: 38, sdG: 0.5 },
  { sku: 'soap', meanG: 205, sdG: 2.5 },
  { sku: 'shampoo', meanG: 420, sdG: 5 },
  { sku: 'apple', meanG: 205, sdG: 2.5, loose: true },
]);
// S1: cola | rice | soap | shampoo ; S2: crisps | crisps | crisps-lookalike ; S3: apple | cola | lemon
const layout = testLayout(
  [
    { id: 'S1', plates: 4 },
    { id: 'S2', plates: 3 },
    { id: 'S3', plates: 3 },
  ],
  [
    { plateId: 'S1-P1', sku: 'cola', capacityUnits: 20 },
    { plateId: 'S1-P2', sku: 'rice', capacityUnits: 10 },
    { plateId: 'S1-P3', sku: 'soap', capacityUnits: 30 },
    { plateId: 'S1-P4', sku: 'shampoo', capacityUnits: 15 },
    { plateId: 'S2-P1', sku: 'crisps', capacityUnits: 20 },
    { plateId: 'S2-P2', sku: 'crisps', capacityUnits: 20 },
    { plateId: 'S2-P3', sku: 'crisps-lookalike', capacityUnits: 20 },
    { plateId: 'S3-P1', sku: 'apple', capacityUnits: 30 },
    { plateId: 'S3-P2', sku: 'cola', capacityUnits: 20 },
    { plateId: 'S3-P3', sku: 'lemon', capacityUnits: 20 },
  ],
);
const config = defaultWeightConfig;

function event(plates: [string, number][]): WeightEvent {
  const shelfId = plates[0]![0].split('-')[0]!;
  return {
    eventId: `${shelfId}@1000`,
    shelfId,
    plates: plates.map(([plateId, deltaG]) => ({ plateId, deltaG })),
    deltaG: plates.reduce((s, [, d]) => s + d, 0),
    startMs: 1000,
    settledMs: 2000,
    positionM: [0, 0, 0],
  };
}

const read = (h: { lines: { sku: string; quantity: number; plateId: string }[] }) =>
  h.lines.map((l) => `${l.plateId}:${l.sku}:${l.quantity}`).sort();

describe('identify', () => {
  it('reads a pick, a put-back and a pick of three from the plate’s product, with posteriors that sum to 1', () => {
    const contents = new ShelfContents(layout, catalog);
    const pick = identify(event([['S1-P1', -361]]), contents, catalog, config); // a unit 2.6 % heavy
    expect(read(pick[0]!)).toEqual(['S1-P1:cola:1']);
    expect(pick[0]!.probability).toBeGreaterThan(0.95);
    expect(pick[0]!.unexplainedG).toBe(0);
    expect(pick.reduce((s, h) => s + h.probability, 0)).toBeCloseTo(1, 9);
    for (let i = 1; i < pick.length; i++)
      expect(pick[i]!.probability).toBeLessThanOrEqual(pick[i - 1]!.probability);
    expect(read(identify(event([['S1-P1', 349]]), contents, catalog, config)[0]!)).toEqual(['S1-P1:cola:-1']);
    const three = identify(event([['S1-P3', -3 * 205 * 1.04]]), contents, catalog, config);
    expect(read(three[0]!)).toEqual(['S1-P3:soap:3']);
  });

  it('reads two neighbouring plates each losing a different product as two lines', () => {
    const contents = new ShelfContents(layout, catalog);
    const [best] = identify(
      event([
        ['S1-P1', -355],
        ['S1-P2', -1003],
      ]),
      contents,
      catalog,
      config,
    );
    expect(read(best!)).toEqual(['S1-P1:cola:1', 'S1-P2:rice:1']);
  });

  it('reads two products from one plate when one product cannot explain the change', () => {
    const contents = new ShelfContents(layout, catalog);
    contents.apply('S1-P4', 'rice', 1); // a rice put back on the shampoo plate earlier
    // 1,432 g: no count of shampoo (420 g) nor rice (1,012 g) is near; one of each is.
    const [best] = identify(event([['S1-P4', -1432]]), contents, catalog, config);
    expect(read(best!)).toEqual(['S1-P4:rice:1', 'S1-P4:shampoo:1']);
  });

  it('reads an item lying across three plates as one unit, and keeps both look-alikes open', () => {
    // The field notes' bag of crisps: −58, −26, −18 g, the third plate holding a 103.9 g look-alike.
    const contents = new ShelfContents(layout, catalog);
    const hs = identify(
      event([
        ['S2-P1', -58],
        ['S2-P2', -26],
        ['S2-P3', -18],
      ]),
      contents,
      catalog,
      config,
    );
    const top = hs.slice(0, 2).map((h) => read(h).map((l) => l.split(':').slice(1).join(':')));
    expect(top).toContainEqual(['crisps:1']);
    expect(top).toContainEqual(['crisps-lookalike:1']);
    expect(hs[0]!.probability).toBeLessThan(config.confidentProbability);
  });

  it('keeps weight twins near-equal instead of naming one confidently', () => {
    // A can across the cola and lemon plates: weight cannot tell cola (352 g) from lemon (349 g).
    const contents = new ShelfContents(layout, catalog);
    const hs = identify(
      event([
        ['S3-P2', -200],
        ['S3-P3', -151],
      ]),
      contents,
      catalog,
      config,
    );
    const skus = hs.slice(0, 2).map((h) => h.lines.map((l) => l.sku).join('+'));
    expect(skus.sort()).toEqual(['cola', 'lemon']);
    for (const h of hs.slice(0, 2)) {
      expect(h.probability).toBeGreaterThan(0.3);
      expect(h.probability).toBeLessThan(0.7);
    }
  });

  it('reads a put-back onto a weight twin’s plate as what the shoppers carry', () => {
    const contents = new ShelfContents(layout, catalog);
    const put = event([['S3-P2', 350]]);
    // Weight alone says "a cola came home", and names its twin so vision can check.
    const alone = identify(put, contents, catalog, config);
    expect(read(alone[0]!)).toEqual(['S3-P2:cola:-1']);
    expect(alone[0]!.lookalikes).toEqual(['lemon']);
    expect(doubt(alone, config)).toBe('lookalike');
    // A cart holding lemons and no cola says otherwise.
    const withCarts = identify(put, contents, catalog, config, { carriedSkus: ['lemon', 'rice'] });
    const [best] = withCarts;
    expect(read(best!)).toEqual(['S3-P2:lemon:-1']);
    expect(doubt(withCarts, config)).toBeNull();
    // Once the edge knows a lemon is on the cola plate, picking it again keeps lemon in view.
    contents.applyHypothesis(best!);
    const again = identify(event([['S3-P2', -350]]), contents, catalog, config);
    expect(again.slice(0, 2).map((h) => h.lines[0]!.sku)).toContain('lemon');
    expect(again[0]!.probability).toBeLessThan(config.confidentProbability);
  });

  it('gives grams for items sold by weight', () => {
    const contents = new ShelfContents(layout, catalog);
    const [best] = identify(event([['S3-P1', -437.4]]), contents, catalog, config);
    expect(best!.lines).toEqual([{ sku: 'apple', plateId: 'S3-P1', quantity: 2, grams: 437.4 }]);
  });

  it('flags a change no candidate explains instead of guessing', () => {
    const contents = new ShelfContents(layout, catalog);
    // 290 g appears on the soap plate: no count of soap (205 g) or its neighbours weighs that.
    const foreign = identify(event([['S1-P3', 290]]), contents, catalog, config);
    expect(doubt(foreign, config)).not.toBeNull();
    expect(foreign[0]!.lines.every((l) => l.sku !== 'soap' && l.sku !== 'shampoo')).toBe(true);
    // 2,700 g: nothing in the catalogue, in any count up to maxUnits, comes near.
    const heavy = identify(event([['S2-P2', 2700]]), contents, catalog, config);
    expect(heavy[0]!.lines).toEqual([]);
    expect(heavy[0]!.unexplainedG).toBe(2700);
    expect(doubt(heavy, config)).toBe('unexplained');
    // A settling residue next to a real pick is neither unexplained nor doubtful.
    const pick = identify(
      event([
        ['S1-P1', -352],
        ['S1-P2', 7],
      ]),
      contents,
      catalog,
      config,
    );
    expect(read(pick[0]!)).toEqual(['S1-P1:cola:1']);
    expect(doubt(pick, config)).toBeNull();
  });
});
