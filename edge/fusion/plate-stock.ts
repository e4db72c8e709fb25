/**
 * What the fusion states of each plate for the store map (the live publisher's `plates`): its stock
 * as the edge believes it and whether its shelf is settled. Stated for every plate at the first
 * tick, for a plate whenever its stock or its settledness changes, and for every plate again each
 * `restateMs` so the publisher's watchdog keeps quiet plates alive (an unchanged statement publishes
 * nothing). Pure: the fusion gives it the time, the active shelves and the contents.
 */
import type { Catalog } from '../../proto/catalog/schema.ts';
import type { StoreLayout } from '../../proto/layout/schema.ts';
import { fieldsOf, restoreFields, type Stateful } from '../state/fields.ts';

export interface PlateStatement {
  plateId: string;
  /** No event open or held on the plate's shelf: its stock is a reading, not a guess mid-change. */
  stable: boolean;
  /** Items by SKU; for items sold by weight, grams (pieces × the catalogue's mean piece weight). */
  stock: Record<string, number>;
}

/** Built from the layout, catalogue and config: not state (edge/state/fields.ts). */
const DERIVED = ['shelfOf', 'gramsPerUnit', 'restateMs'];

export class PlateStock implements Stateful {
  private readonly shelfOf = new Map<string, string>();
  private readonly gramsPerUnit = new Map<string, number>();
  private readonly stated = new Map<string, { stable: boolean; stock: string }>();
  private readonly changed = new Set<string>();
  private lastAllMs: number | null = null;
  private lastActive = '';

  constructor(
    layout: Pick<StoreLayout, 'plates'>,
    catalog: Catalog,
    private readonly restateMs: number,
  ) {
    for (const p of layout.plates) this.shelfOf.set(p.id, p.shelfId);
    for (const i of catalog.items)
      if (i.soldBy === 'weight') this.gramsPerUnit.set(i.sku, i.unitWeightG.mean);
  }

  state(): unknown {
    return fieldsOf(this, DERIVED);
  }

  restore(state: unknown): void {
    restoreFields(this, state, DERIVED, 'plate stock');
  }

  /** The plate's contents changed (an identified event, a put-back). */
  touch(plateId: string): void {
    this.changed.add(plateId);
  }

  /** The plates to state now (none when nothing changed). */
  due(
    nowMs: number,
    activeShelves: ReadonlyMap<string, number>,
    units: (plateId: string) => Record<string, number>,
  ): PlateStatement[] {
    const all = this.lastAllMs === null || nowMs - this.lastAllMs >= this.restateMs;
    const active = [...activeShelves.keys()].sort().join(',');
    if (!all && this.changed.size === 0 && active === this.lastActive) return [];
    this.lastActive = active;
    if (all) this.lastAllMs = nowMs;
    const out: PlateStatement[] = [];
    for (const [plateId, shelfId] of this.shelfOf) {
      const stable = !activeShelves.has(shelfId);
      const last = this.stated.get(plateId);
      if (!all && !this.changed.has(plateId) && last?.stable === stable) continue;
      const stock = this.stockOf(units(plateId));
      const key = JSON.stringify(stock);
      if (!all && last?.stable === stable && last.stock === key) continue;
      this.stated.set(plateId, { stable, stock: key });
      out.push({ plateId, stable, stock });
    }
    this.changed.clear();
    return out;
  }

  private stockOf(units: Record<string, number>): Record<string, number> {
    const stock: Record<string, number> = {};
    for (const [sku, n] of Object.entries(units)) {
      const g = this.gramsPerUnit.get(sku);
      stock[sku] = Math.max(0, Math.round(g === undefined ? n : n * g));
    }
    return stock;
  }
}
