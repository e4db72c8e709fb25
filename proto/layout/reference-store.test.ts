import { describe, expect, it } from 'vitest';
import { loadCatalog, loadLayout } from '../index.ts';

const catalog = loadCatalog(new URL('../stores/reference/catalog.json', import.meta.url).pathname);
const layout = loadLayout(new URL('../stores/reference/layout.json', import.meta.url).pathname, catalog);

describe('reference store', () => {
  it('has the size the issue asks for', () => {
    const xs = layout.floorPolygonM.map((p) => p[0]);
    const ys = layout.floorPolygonM.map((p) => p[1]);
    expect(Math.max(...xs) - Math.min(...xs)).toBeCloseTo(12, 1);
    expect(Math.max(...ys) - Math.min(...ys)).toBeCloseTo(9, 1);
    expect(layout.fixtures.filter((f) => f.kind === 'gondola')).toHaveLength(4);
    expect(layout.fixtures.filter((f) => f.kind === 'wall-shelf').length).toBeGreaterThanOrEqual(1);
    expect(layout.plates.length).toBeGreaterThanOrEqual(60);
    expect(layout.plates.length).toBeLessThanOrEqual(100);
    expect(catalog.items.length).toBeGreaterThanOrEqual(60);
    expect(layout.cameras.length).toBeGreaterThanOrEqual(8);
    expect(layout.cameras.length).toBeLessThanOrEqual(12);
    for (const cam of layout.cameras) expect(cam.positionM[2]).toBeGreaterThan(2.5);
    expect(layout.gates.map((g) => g.kind).sort()).toEqual(['entry', 'exit']);
  });

  it('gives every product a look of its own', () => {
    // What a camera can tell apart: a plain print shows only its primary (and a bottle's cap);
    // any other pattern shows both colours, and swapping them is no difference to a turned item.
    const look = ({ appearance: a }: (typeof catalog.items)[number]) =>
      a.pattern === 'solid'
        ? `${a.shape}|${a.primary}|${a.shape === 'bottle' ? a.secondary : ''}`
        : `${a.shape}|${[a.primary, a.secondary].sort().join('+')}`;
    const seen = new Map<string, string>();
    for (const item of catalog.items) {
      expect(seen.get(look(item)), `${item.sku} looks like ${seen.get(look(item))}`).toBeUndefined();
      seen.set(look(item), item.sku);
    }
  });

  it('has four shelves on each side of every gondola', () => {
    for (const g of layout.fixtures.filter((f) => f.kind === 'gondola')) {
      const shelves = layout.shelves.filter((s) => s.fixtureId === g.id);
      expect(shelves.filter((s) => s.facing === '-x')).toHaveLength(4);
      expect(shelves.filter((s) => s.facing === '+x')).toHaveLength(4);
    }
  });

  it('puts products whose unit weights differ by under 3% side by side on one shelf', () => {
    const sku = new Map(catalog.items.map((i) => [i.sku, i]));
    const plateShelf = new Map(layout.plates.map((p) => [p.id, p.shelfId]));
    const byShelf = new Map<string, string[]>();
    for (const f of layout.planogram) {
      const shelf = plateShelf.get(f.plateId)!;
      byShelf.set(shelf, [...(byShelf.get(shelf) ?? []), f.sku]);
    }
    let twinShelves = 0;
    for (const skus of byShelf.values()) {
      const weights = skus.map((s) => sku.get(s)!.unitWeightG.mean);
      const twin = weights.some((a, i) =>
        weights.some((b, j) => i !== j && skus[i] !== skus[j] && Math.abs(a - b) / Math.max(a, b) < 0.03),
      );
      if (twin) twinShelves++;
    }
    expect(twinShelves).toBeGreaterThanOrEqual(4);
  });

  it('places every plate on its shelf, inside its fixture', () => {
    const shelves = new Map(layout.shelves.map((s) => [s.id, s]));
    for (const p of layout.plates) {
      const s = shelves.get(p.shelfId)!;
      expect(p.centerM[0]).toBeGreaterThanOrEqual(s.box.minM[0]);
      expect(p.centerM[0]).toBeLessThanOrEqual(s.box.maxM[0]);
      expect(p.centerM[1]).toBeGreaterThanOrEqual(s.box.minM[1]);
      expect(p.centerM[1]).toBeLessThanOrEqual(s.box.maxM[1]);
      expect(p.centerM[2]).toBeCloseTo(s.box.minM[2], 6);
    }
  });
});
