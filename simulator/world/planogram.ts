import type { Catalog, CatalogItem, StoreLayout } from '../../proto/index.ts';
import { Rng } from '../core/rng.ts';

/** Weight twins: products within this share of each other's unit weight, which a plate cannot tell apart. */
export const TWIN_TOLERANCE = 0.03;

/** A plate as the planogram sees it: where it is in its fixture and how wide it is. */
export interface PlateSlot {
  plateId: string;
  shelfId: string;
  fixtureId: string;
  facing: string;
  /** 0 is the lowest shelf. */
  level: number;
  /** Position along the shelf, 0 first. */
  k: number;
  widthM: number;
  wall: boolean;
}

/**
 * The weight twins a planogram puts side by side: neighbours in the catalogue (which lists its
 * designed twins next to each other) whose unit weights are under 3% apart. Other pairs that
 * happen to be that close (the reference catalogue has some across product families) are stocked
 * like any other SKU, as in the reference store.
 */
export function twinPairs(catalog: Catalog): [CatalogItem, CatalogItem][] {
  const items = catalog.items;
  const pairs: [CatalogItem, CatalogItem][] = [];
  for (let i = 0; i + 1 < items.length; i++) {
    const a = items[i]!;
    const b = items[i + 1]!;
    if (a.soldBy === 'weight' || b.soldBy === 'weight') continue;
    const [wa, wb] = [a.unitWeightG.mean, b.unitWeightG.mean];
    if (Math.abs(wa - wb) / Math.max(wa, wb) >= TWIN_TOLERANCE) continue;
    pairs.push([a, b]);
    i++;
  }
  return pairs;
}

/** Why a planogram cannot be made for these plates, or null when it can. */
export function planogramProblem(catalog: Catalog, slots: readonly PlateSlot[]): string | null {
  const pairs = twinPairs(catalog);
  if (slots.length < catalog.items.length)
    return `${slots.length} plates cannot hold ${catalog.items.length} catalogue SKUs`;
  const twinShelves = new Set(slots.filter((s) => s.k === 1).map((s) => s.shelfId));
  if (twinShelves.size < pairs.length)
    return `${pairs.length} weight-twin pairs need as many shelves of two or more plates, there are ${twinShelves.size}`;
  return null;
}

function unitsFor(item: CatalogItem, widthM: number): number {
  const perRow = Math.max(1, Math.floor(widthM / item.appearance.sizeM[0]));
  const rows = Math.max(1, Math.floor(0.4 / item.appearance.sizeM[1]));
  const byWeight = Math.floor(15000 / item.unitWeightG.mean);
  return Math.max(2, Math.min(perRow * rows, byWeight, 40));
}

/**
 * Twins side by side on one of the lowest gondola shelves (the wall's after), then every other
 * SKU once before any repeats. Without a seed everything goes in catalogue order, which is the
 * reference store's planogram; with one, the twins' shelves and the SKUs' order are shuffled and
 * each column of plates is restacked heaviest lowest, as stores do.
 */
export function planogram(
  catalog: Catalog,
  slots: readonly PlateSlot[],
  seed: number | null,
): StoreLayout['planogram'] {
  const rng = seed === null ? null : Rng.stream(seed, 'floorplan:planogram');
  const byShelf = new Map<string, PlateSlot[]>();
  for (const s of slots) byShelf.set(s.shelfId, [...(byShelf.get(s.shelfId) ?? []), s]);
  const candidates = [...byShelf.values()]
    .filter((p) => p.length >= 2)
    .map((p, order) => ({ plates: p, order }))
    .sort(
      (a, b) =>
        a.plates[0]!.level - b.plates[0]!.level ||
        Number(a.plates[0]!.wall) - Number(b.plates[0]!.wall) ||
        a.order - b.order,
    );
  const pairs = twinPairs(catalog);
  rng?.shuffle(pairs);
  const assigned = new Map<string, CatalogItem>();
  const twinSlots: PlateSlot[] = [];
  pairs.forEach((pair, i) => {
    const plates = candidates[i]!.plates;
    const at = rng ? rng.int(0, plates.length - 2) : 0;
    pair.forEach((item, j) => {
      assigned.set(plates[at + j]!.plateId, item);
      twinSlots.push(plates[at + j]!);
    });
  });
  const twinPlates = new Set(twinSlots.map((s) => s.plateId));
  const twinSkus = new Set(pairs.flat().map((i) => i.sku));
  const rest = catalog.items.filter((i) => !twinSkus.has(i.sku));
  rng?.shuffle(rest);
  const open = slots.filter((s) => !twinPlates.has(s.plateId));
  open.forEach((s, r) => {
    assigned.set(s.plateId, rest[r % rest.length]!);
  });
  if (rng) {
    const columns = new Map<string, PlateSlot[]>();
    for (const s of open) {
      const key = `${s.fixtureId}|${s.facing}|${s.k}`;
      columns.set(key, [...(columns.get(key) ?? []), s]);
    }
    for (const column of columns.values()) {
      const items = column.map((s) => assigned.get(s.plateId)!);
      items.sort((a, b) => b.unitWeightG.mean - a.unitWeightG.mean);
      const upwards = [...column].sort((a, b) => a.level - b.level);
      for (const [i, s] of upwards.entries()) assigned.set(s.plateId, items[i]!);
    }
  }
  return [...twinSlots, ...open].map((s) => {
    const item = assigned.get(s.plateId)!;
    return { plateId: s.plateId, sku: item.sku, capacityUnits: unitsFor(item, s.widthM) };
  });
}
