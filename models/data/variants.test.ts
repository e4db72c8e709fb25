import { describe, expect, it } from 'vitest';
import { layoutProblems, loadCatalog, loadLayout } from '../../proto/index.ts';
import { storeVariant } from './variants.ts';

const dir = new URL('../../proto/stores/reference/', import.meta.url).pathname;
const catalog = loadCatalog(`${dir}catalog.json`);
const base = loadLayout(`${dir}layout.json`, catalog);

describe('store variants', () => {
  it('keeps the reference store as variant 0', () => {
    expect(storeVariant(base, catalog, 0).layout).toBe(base);
  });

  it('puts most other variants on generated floors, each valid and reproducible', () => {
    const variants = Array.from({ length: 13 }, (_, i) => storeVariant(base, catalog, i + 1));
    const generated = variants.filter((v) => v.floor !== null);
    expect(generated.length).toBeGreaterThan(variants.length / 2);
    expect(generated.length).toBeLessThan(variants.length);
    for (const v of variants) {
      expect(layoutProblems(v.layout, catalog)).toEqual([]);
      if (v.floor === null) expect(v.layout.fixtures).toEqual(base.fixtures);
      else expect(v.layout.fixtures).not.toEqual(base.fixtures);
      // The rig is varied on top of the floor's own camera grid.
      expect(v.layout.cameras.every((c) => c.positionM[2] !== 3)).toBe(true);
    }
    expect(new Set(generated.map((v) => v.floor!.gondolas.orientation)).size).toBe(2);
    expect(storeVariant(base, catalog, 10)).toEqual(variants[9]);
  });
});
