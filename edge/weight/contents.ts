import type { Catalog, CatalogItem } from '../../proto/catalog/schema.ts';
import type { StoreLayout } from '../../proto/layout/schema.ts';
import { fieldsOf, restoreFields, type Stateful } from '../state/fields.ts';
import type { WeightHypothesis } from '../types.ts';

/** A product the contents place on a plate, with how many units. */
export interface Candidate {
  plateId: string;
  sku: string;
  units: number;
}

/**
 * What is on each plate now: live state, not the planogram. It starts from the planogram stocked
 * full (the simulator stocks every plate to its `capacityUnits` before opening, world.stockAll)
 * and follows every identified change, so an item put back on the wrong plate becomes a candidate
 * there. Also knows which plates lie next to each other along a shelf (items lie across them).
 */
/** Built from the layout and catalogue: not state. */
const CONTENTS_DERIVED = ['neighbourIds', 'order', 'items'];

export class ShelfContents implements Stateful {
  private readonly stock = new Map<string, Map<string, number>>();
  private readonly neighbourIds = new Map<string, string[]>();
  /** Position of each plate along its shelf (0, 1, …): runs of neighbours are consecutive. */
  readonly order = new Map<string, number>();
  readonly items: Map<string, CatalogItem>;

  constructor(layout: StoreLayout, catalog: Catalog) {
    this.items = new Map(catalog.items.map((i) => [i.sku, i]));
    for (const p of layout.plates) {
      this.stock.set(p.id, new Map());
    }
    for (const f of layout.planogram) {
      const plate = this.stock.get(f.plateId);
      if (plate) plate.set(f.sku, (plate.get(f.sku) ?? 0) + f.capacityUnits);
    }
    const facing = new Map(layout.shelves.map((s) => [s.id, s.facing]));
    const byShelf = new Map<string, StoreLayout['plates']>();
    for (const p of layout.plates) byShelf.set(p.shelfId, [...(byShelf.get(p.shelfId) ?? []), p]);
    for (const [shelfId, plates] of byShelf) {
      // Plates run along the shelf: along x when it faces ±y, along y when it faces ±x.
      const axis = facing.get(shelfId)?.endsWith('x') ? 1 : 0;
      const sorted = [...plates].sort((a, b) => a.centerM[axis] - b.centerM[axis]);
      sorted.forEach((p, i) => {
        const n: string[] = [];
        if (i > 0) n.push(sorted[i - 1]!.id);
        if (i < sorted.length - 1) n.push(sorted[i + 1]!.id);
        this.neighbourIds.set(p.id, n);
        this.order.set(p.id, i);
      });
    }
  }

  /** Units per SKU per plate, as followed since the edge started. */
  state(): unknown {
    return fieldsOf(this, CONTENTS_DERIVED);
  }

  restore(state: unknown): void {
    restoreFields(this, state, CONTENTS_DERIVED, 'shelf contents');
  }

  /**
   * Changes a plate's units of a SKU: negative when units left the plate. Never below zero; a SKU
   * emptied stays listed (with 0), since what was on a plate is what comes back to it.
   */
  apply(plateId: string, sku: string, unitsDelta: number): void {
    const plate = this.stock.get(plateId);
    if (!plate) return;
    plate.set(sku, Math.max(0, (plate.get(sku) ?? 0) + unitsDelta));
  }

  /** Applies an accepted reading of an event: its quantities are cart-signed (+ taken from the shelf). */
  applyHypothesis(h: WeightHypothesis): void {
    for (const line of h.lines) this.apply(line.plateId, line.sku, -line.quantity);
  }

  /** Products on these plates, with units (plates with nothing known give nothing). */
  candidates(plateIds: readonly string[]): Candidate[] {
    const out: Candidate[] = [];
    for (const plateId of plateIds) {
      for (const [sku, units] of this.stock.get(plateId) ?? []) out.push({ plateId, sku, units });
    }
    return out;
  }

  /** The plates next to this one on its shelf. */
  neighbours(plateId: string): readonly string[] {
    return this.neighbourIds.get(plateId) ?? [];
  }

  /** Live stock of a plate, for the store map. */
  units(plateId: string): Record<string, number> {
    return Object.fromEntries(this.stock.get(plateId) ?? []);
  }
}
