import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog, loadLayout } from '../../proto/index.ts';
import { PlateStock } from './plate-stock.ts';

const ref = new URL('../../proto/stores/reference/', import.meta.url).pathname;
const catalog = loadCatalog(join(ref, 'catalog.json'));
const layout = loadLayout(join(ref, 'layout.json'), catalog);
const [p1, p2] = layout.plates;
const units = new Map<string, Record<string, number>>(layout.plates.map((p) => [p.id, { 'SKU-A': 10 }]));
const unitsOf = (id: string) => units.get(id) ?? {};

describe('plate stock statements', () => {
  it('states every plate first, then only what changed, and every plate again each restate period', () => {
    const s = new PlateStock(layout, catalog, 30_000);
    const first = s.due(0, new Map(), unitsOf);
    expect(first).toHaveLength(layout.plates.length);
    expect(first[0]).toEqual({ plateId: p1!.id, stable: true, stock: { 'SKU-A': 10 } });
    expect(s.due(100, new Map(), unitsOf)).toEqual([]);
    // The shelf becomes active: each of its plates is unsettled; then it settles with one less.
    const onShelf = layout.plates.filter((p) => p.shelfId === p1!.shelfId).map((p) => p.id);
    const active = s.due(200, new Map([[p1!.shelfId, 150]]), unitsOf);
    expect(active.map((p) => [p.plateId, p.stable])).toEqual(onShelf.map((id) => [id, false]));
    units.set(p1!.id, { 'SKU-A': 9 });
    s.touch(p1!.id);
    const settled = s.due(300, new Map(), unitsOf);
    expect(settled.find((p) => p.plateId === p1!.id)).toEqual({
      plateId: p1!.id,
      stable: true,
      stock: { 'SKU-A': 9 },
    });
    expect(settled).toHaveLength(onShelf.length);
    // A touch that changed nothing states nothing.
    s.touch(p2!.id);
    expect(s.due(400, new Map(), unitsOf)).toEqual([]);
    expect(s.due(30_000, new Map(), unitsOf)).toHaveLength(layout.plates.length);
  });

  it('states items sold by weight in grams', () => {
    const loose = catalog.items.find((i) => i.soldBy === 'weight');
    expect(loose, 'the reference catalogue sells something by weight').toBeDefined();
    const s = new PlateStock(layout, catalog, 30_000);
    const out = s.due(0, new Map(), () => ({ [loose!.sku]: 3 }));
    expect(out[0]!.stock[loose!.sku]).toBe(Math.round(3 * loose!.unitWeightG.mean));
  });
});
