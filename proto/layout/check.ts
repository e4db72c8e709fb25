import type { Catalog } from '../catalog/schema.ts';
import { Catalog as CatalogSchema } from '../catalog/schema.ts';
import { WalkoutError } from '../errors.ts';
import { loadJsonFile } from '../validate.ts';
import { StoreLayout } from './schema.ts';

interface Problem {
  field: string;
  reason: string;
}

/** Cross-references that a schema alone cannot check: ids that must exist and must be unique. */
export function layoutProblems(layout: StoreLayout, catalog?: Catalog): Problem[] {
  const problems: Problem[] = [];
  const unique = (list: { id: string }[], name: string) => {
    const seen = new Set<string>();
    list.forEach((x, i) => {
      if (seen.has(x.id)) problems.push({ field: `${name}[${i}].id`, reason: `duplicate id ${x.id}` });
      seen.add(x.id);
    });
    return seen;
  };
  const fixtures = unique(layout.fixtures, 'fixtures');
  const shelves = unique(layout.shelves, 'shelves');
  const plates = unique(layout.plates, 'plates');
  unique(layout.cameras, 'cameras');
  unique(layout.gates, 'gates');
  const deviceIds = new Set<string>();
  const devices = [
    ...layout.plates.map((p, i) => [p.id, `plates[${i}].id`] as const),
    ...layout.cameras.map((c, i) => [c.id, `cameras[${i}].id`] as const),
    ...layout.gates.flatMap((g, i) => [
      [g.scannerId, `gates[${i}].scannerId`] as const,
      [g.sensorId, `gates[${i}].sensorId`] as const,
    ]),
  ];
  for (const [id, field] of devices) {
    if (deviceIds.has(id)) problems.push({ field, reason: `device id ${id} is used by two devices` });
    deviceIds.add(id);
  }
  layout.shelves.forEach((s, i) => {
    if (!fixtures.has(s.fixtureId))
      problems.push({ field: `shelves[${i}].fixtureId`, reason: `no fixture ${s.fixtureId}` });
  });
  layout.plates.forEach((p, i) => {
    if (!shelves.has(p.shelfId))
      problems.push({ field: `plates[${i}].shelfId`, reason: `no shelf ${p.shelfId}` });
  });
  const stocked = new Set<string>();
  const skus = catalog ? new Set(catalog.items.map((x) => x.sku)) : undefined;
  layout.planogram.forEach((f, i) => {
    if (!plates.has(f.plateId))
      problems.push({ field: `planogram[${i}].plateId`, reason: `no plate ${f.plateId}` });
    if (stocked.has(f.plateId))
      problems.push({ field: `planogram[${i}].plateId`, reason: `plate ${f.plateId} has two facings` });
    stocked.add(f.plateId);
    if (skus && !skus.has(f.sku))
      problems.push({ field: `planogram[${i}].sku`, reason: `SKU ${f.sku} is not in the catalogue` });
  });
  if (!layout.gates.some((g) => g.kind === 'entry'))
    problems.push({ field: 'gates', reason: 'no entry gate' });
  if (!layout.gates.some((g) => g.kind === 'exit')) problems.push({ field: 'gates', reason: 'no exit gate' });
  return problems;
}

/** Loads a layout (and optionally checks it against a catalogue); nothing half-valid gets through. */
export function loadLayout(path: string, catalog?: Catalog): StoreLayout {
  const layout = loadJsonFile(path, StoreLayout);
  const problems = layoutProblems(layout, catalog);
  if (problems.length > 0) {
    const text = problems.map((p) => `${p.field}: ${p.reason}`).join('; ');
    const code = problems.some((p) => p.reason.includes('catalogue'))
      ? 'PLANOGRAM_UNKNOWN_SKU'
      : 'LAYOUT_INCONSISTENT';
    throw new WalkoutError(code, `${path}: ${text}`, { source: path, issues: problems });
  }
  return layout;
}

export function loadCatalog(path: string): Catalog {
  return loadJsonFile(path, CatalogSchema);
}
