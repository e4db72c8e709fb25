import type { Catalog, CatalogItem, StoreLayout } from '../../proto/index.ts';
import type { Rng } from '../core/rng.ts';
import type { CartLine, Hand, ItemUnit, Person, TruthEvent, Visit } from './types.ts';

/** Raised when an agent asks for something the physical world cannot do (a bug in an agent). */
export class WorldRuleError extends Error {
  readonly code = 'WORLD_RULE';
}

export interface PlateContents {
  plateId: string;
  items: ItemUnit[];
}

/**
 * The physical state of the store: where every item is, who is inside, and the ground truth of
 * every change. All moves of items go through these methods, which is what keeps the total weight
 * conserved and the ground truth complete whatever the agents decide.
 */
export class World {
  readonly persons = new Map<string, Person>();
  readonly visits = new Map<string, Visit>();
  readonly plates = new Map<string, PlateContents>();
  /** Items that left the store with a visit. */
  readonly departed: ItemUnit[] = [];
  readonly truth: TruthEvent[] = [];
  readonly skus: Map<string, CatalogItem>;
  readonly planogramSku = new Map<string, string>();
  /** Weight of every unit ever made: the world's total must always equal it. */
  madeWeightG = 0;
  private itemCounter = 0;

  constructor(
    readonly layout: StoreLayout,
    readonly catalog: Catalog,
  ) {
    this.skus = new Map(catalog.items.map((i) => [i.sku, i]));
    for (const p of layout.plates) this.plates.set(p.id, { plateId: p.id, items: [] });
    for (const f of layout.planogram) this.planogramSku.set(f.plateId, f.sku);
  }

  /** A new unit of a SKU, its weight drawn from the SKU's distribution. */
  makeUnit(sku: string, rng: Rng): ItemUnit {
    const item = this.skus.get(sku);
    if (!item) throw new WorldRuleError(`unknown SKU ${sku}`);
    this.itemCounter += 1;
    const weightG =
      Math.round(Math.max(1, rng.gaussian(item.unitWeightG.mean, item.unitWeightG.sd)) * 100) / 100;
    this.madeWeightG += weightG;
    return { itemId: `i${String(this.itemCounter).padStart(6, '0')}`, sku, weightG };
  }

  /** Fills every plate to its planogram capacity, before the store opens. */
  stockAll(rng: Rng, fill = 1): void {
    for (const f of this.layout.planogram) {
      const plate = this.plate(f.plateId);
      const n = Math.max(1, Math.round(f.capacityUnits * fill));
      for (let i = 0; i < n; i++) plate.items.push(this.makeUnit(f.sku, rng));
    }
  }

  plate(plateId: string): PlateContents {
    const p = this.plates.get(plateId);
    if (!p) throw new WorldRuleError(`unknown plate ${plateId}`);
    return p;
  }

  person(personId: string): Person {
    const p = this.persons.get(personId);
    if (!p) throw new WorldRuleError(`unknown person ${personId}`);
    return p;
  }

  visit(visitId: string): Visit {
    const v = this.visits.get(visitId);
    if (!v) throw new WorldRuleError(`unknown visit ${visitId}`);
    return v;
  }

  /** Everything a person carries: both hands and the basket. */
  carried(person: Person): ItemUnit[] {
    return [...person.hands[0].holding, ...person.hands[1].holding, ...person.basket];
  }

  /** True weight resting on every plate: its items plus any hand pressing on it. One pass for all plates. */
  plateLoadsG(): Map<string, number> {
    const loads = new Map<string, number>();
    for (const [id, plate] of this.plates) {
      let g = 0;
      for (const item of plate.items) g += item.weightG;
      loads.set(id, g);
    }
    for (const person of this.persons.values()) {
      if (!person.inStore) continue;
      for (const hand of person.hands) {
        if (hand.onPlateId && hand.pressG > 0)
          loads.set(hand.onPlateId, (loads.get(hand.onPlateId) ?? 0) + hand.pressG);
      }
    }
    return loads;
  }

  /** Total weight of every item that exists, wherever it is: conserved by every operation. */
  totalItemWeightG(): number {
    let g = 0;
    for (const p of this.plates.values()) for (const i of p.items) g += i.weightG;
    for (const person of this.persons.values()) for (const i of this.carried(person)) g += i.weightG;
    for (const i of this.departed) g += i.weightG;
    return g;
  }

  addVisit(visit: Visit): void {
    this.visits.set(visit.visitId, visit);
  }

  addPerson(person: Person): void {
    this.persons.set(person.personId, person);
  }

  enter(personId: string, gateId: string, scanId: string | null, tsMs: number): void {
    const person = this.person(personId);
    person.inStore = true;
    const visit = this.visit(person.visitId);
    visit.enteredMs ??= tsMs;
    this.truth.push({ type: 'enter', tsMs, personId, visitId: person.visitId, gateId, scanId });
  }

  tailgate(personId: string, gateId: string, behindPersonId: string, tsMs: number): void {
    const person = this.person(personId);
    this.truth.push({ type: 'tailgate', tsMs, personId, visitId: person.visitId, gateId, behindPersonId });
  }

  /** Takes `quantity` units from a plate into a hand; the units taken are the ones nearest the front. */
  take(personId: string, handIndex: 0 | 1, plateId: string, quantity: number, tsMs: number): ItemUnit[] {
    const person = this.person(personId);
    const plate = this.plate(plateId);
    if (quantity < 1 || plate.items.length < quantity) {
      throw new WorldRuleError(
        `${personId} cannot take ${quantity} from ${plateId} holding ${plate.items.length}`,
      );
    }
    const taken = plate.items.splice(plate.items.length - quantity, quantity);
    person.hands[handIndex].holding.push(...taken);
    for (const group of groupBySku(taken)) {
      this.truth.push({
        type: 'pick',
        tsMs,
        personId,
        visitId: person.visitId,
        plateId,
        sku: group.sku,
        quantity: group.items.length,
        itemIds: group.items.map((i) => i.itemId),
      });
    }
    return taken;
  }

  /** Puts items from a hand on a plate: back where they came from, or anywhere else. */
  put(
    personId: string,
    handIndex: 0 | 1,
    plateId: string,
    itemIds: string[],
    tsMs: number,
    kind: 'putback' | 'restock' = 'putback',
  ): void {
    const person = this.person(personId);
    const hand = person.hands[handIndex];
    const items = removeItems(hand, itemIds, personId);
    this.plate(plateId).items.push(...items);
    const expected = this.planogramSku.get(plateId);
    for (const group of groupBySku(items)) {
      const ids = group.items.map((i) => i.itemId);
      const base = {
        tsMs,
        personId,
        visitId: person.visitId,
        plateId,
        sku: group.sku,
        quantity: ids.length,
        itemIds: ids,
      };
      this.truth.push(
        kind === 'restock'
          ? { type: 'restock', ...base }
          : { type: 'putback', ...base, misplaced: expected !== group.sku },
      );
    }
  }

  /** Moves items from a hand to the basket: no change of ownership, so no truth event. */
  stow(personId: string, handIndex: 0 | 1, itemIds: string[]): void {
    const person = this.person(personId);
    person.basket.push(...removeItems(person.hands[handIndex], itemIds, personId));
  }

  /** Moves items from the basket back into a hand (to put one back, or to hand it over). */
  unstow(personId: string, handIndex: 0 | 1, itemIds: string[]): void {
    const person = this.person(personId);
    const wanted = new Set(itemIds);
    const moving = person.basket.filter((i) => wanted.has(i.itemId));
    if (moving.length !== itemIds.length)
      throw new WorldRuleError(`${personId} does not have all of ${itemIds.join(',')} in the basket`);
    person.basket = person.basket.filter((i) => !wanted.has(i.itemId));
    person.hands[handIndex].holding.push(...moving);
  }

  /** Hands items from one person's hand to another's hand. */
  handOff(
    fromId: string,
    fromHand: 0 | 1,
    toId: string,
    toHand: 0 | 1,
    itemIds: string[],
    tsMs: number,
  ): void {
    const from = this.person(fromId);
    const to = this.person(toId);
    const items = removeItems(from.hands[fromHand], itemIds, fromId);
    to.hands[toHand].holding.push(...items);
    for (const group of groupBySku(items)) {
      this.truth.push({
        type: 'handoff',
        tsMs,
        fromPersonId: fromId,
        toPersonId: toId,
        fromVisitId: from.visitId,
        toVisitId: to.visitId,
        sku: group.sku,
        itemIds: group.items.map((i) => i.itemId),
      });
    }
  }

  /**
   * A person walks out. Whatever they carry leaves with their visit; the visit closes, with its
   * true cart, when its last member is out.
   */
  exit(personId: string, gateId: string, tsMs: number): void {
    const person = this.person(personId);
    for (const hand of person.hands) {
      hand.onPlateId = null;
      hand.pressG = 0;
    }
    person.inStore = false;
    this.truth.push({ type: 'exit', tsMs, personId, visitId: person.visitId, gateId });
    const visit = this.visit(person.visitId);
    const members = visit.memberIds.map((id) => this.person(id));
    if (members.some((m) => m.inStore || visit.enteredMs === null)) return;
    const cartItems: ItemUnit[] = [];
    for (const m of members) {
      const items = this.carried(m);
      cartItems.push(...items);
      this.departed.push(...items);
      m.hands[0].holding = [];
      m.hands[1].holding = [];
      m.basket = [];
    }
    visit.closedMs = tsMs;
    this.truth.push({ type: 'visit-closed', tsMs, visitId: visit.visitId, cart: cartOf(cartItems) });
  }
}

function removeItems(hand: Hand, itemIds: string[], who: string): ItemUnit[] {
  const wanted = new Set(itemIds);
  const items = hand.holding.filter((i) => wanted.has(i.itemId));
  if (items.length !== itemIds.length)
    throw new WorldRuleError(`${who} does not hold all of ${itemIds.join(',')}`);
  hand.holding = hand.holding.filter((i) => !wanted.has(i.itemId));
  return items;
}

function groupBySku(items: ItemUnit[]): { sku: string; items: ItemUnit[] }[] {
  const groups = new Map<string, ItemUnit[]>();
  for (const i of items) {
    const g = groups.get(i.sku);
    if (g) g.push(i);
    else groups.set(i.sku, [i]);
  }
  return [...groups].map(([sku, list]) => ({ sku, items: list }));
}

export function cartOf(items: ItemUnit[]): CartLine[] {
  return groupBySku(items)
    .map((g) => ({
      sku: g.sku,
      quantity: g.items.length,
      weightG: Math.round(g.items.reduce((s, i) => s + i.weightG, 0) * 100) / 100,
    }))
    .sort((a, b) => a.sku.localeCompare(b.sku));
}
