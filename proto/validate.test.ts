import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWalkoutError, loadCatalog, loadLayout, type WalkoutError } from './index.ts';

const refDir = new URL('./stores/reference/', import.meta.url).pathname;
const layoutJson = JSON.parse(readFileSync(join(refDir, 'layout.json'), 'utf8'));
const catalogJson = JSON.parse(readFileSync(join(refDir, 'catalog.json'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'walkout-proto-'));

function write(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

function failure(fn: () => unknown): WalkoutError {
  try {
    fn();
  } catch (err) {
    if (isWalkoutError(err)) return err;
    throw err;
  }
  throw new Error('expected a WalkoutError');
}

describe('bad store files are refused at load, naming file, field and reason', () => {
  it('a plate with a negative capacity', () => {
    const bad = structuredClone(layoutJson);
    bad.plates[3].capacityG = -5;
    const path = write('neg.json', bad);
    const err = failure(() => loadLayout(path));
    expect(err.code).toBe('FILE_INVALID');
    expect(err.message).toContain(path);
    expect(err.message).toContain('plates[3].capacityG');
    expect(err.message).toMatch(/too small|>0|positive/i);
  });

  it('a shelf on a fixture that does not exist', () => {
    const bad = structuredClone(layoutJson);
    bad.shelves[2].fixtureId = 'nowhere';
    const err = failure(() => loadLayout(write('dangling.json', bad)));
    expect(err.code).toBe('LAYOUT_INCONSISTENT');
    expect(err.message).toContain('shelves[2].fixtureId');
    expect(err.message).toContain('no fixture nowhere');
  });

  it('a planogram SKU missing from the catalogue', () => {
    const bad = structuredClone(layoutJson);
    bad.planogram[0].sku = 'unicorn-milk';
    const catalog = loadCatalog(join(refDir, 'catalog.json'));
    const err = failure(() => loadLayout(write('sku.json', bad), catalog));
    expect(err.code).toBe('PLANOGRAM_UNKNOWN_SKU');
    expect(err.message).toContain('planogram[0].sku');
  });

  it('an unknown field (a typo must not be silently ignored)', () => {
    const bad = structuredClone(layoutJson);
    bad.cameras[0].hfov = 90;
    const err = failure(() => loadLayout(write('typo.json', bad)));
    expect(err.message).toContain('cameras[0]');
    expect(err.message).toContain('hfov');
  });

  it('a price in floating point rather than minor units', () => {
    const bad = structuredClone(catalogJson);
    bad.items[7].priceMinor = 1.99;
    const err = failure(() => loadCatalog(write('price.json', bad)));
    expect(err.message).toContain('items[7].priceMinor');
    expect(err.message).toMatch(/int/);
  });

  it('a duplicate SKU', () => {
    const bad = structuredClone(catalogJson);
    bad.items[5].sku = bad.items[4].sku;
    const err = failure(() => loadCatalog(write('dup.json', bad)));
    expect(err.message).toContain('items[5].sku');
    expect(err.message).toContain('duplicate SKU');
  });

  it('a file that is not JSON, and one that does not exist', () => {
    const path = write('broken.json', '{"schemaVersion": 1,');
    expect(failure(() => loadLayout(path)).code).toBe('FILE_NOT_JSON');
    expect(failure(() => loadLayout(join(dir, 'missing.json'))).code).toBe('FILE_UNREADABLE');
  });
});
