import type { Vec2, Vec3 } from '../../proto/index.ts';
import type { Rng } from '../core/rng.ts';
import type { Visit } from '../world/types.ts';
import type { Agent, Ctx, Task } from './agent.ts';
import { type PlateInfo, type StoreModel, standingSpot } from './store.ts';

export interface Stop {
  plateId: string;
  tasks: Map<Agent, Task[]>;
}

/** A hand-over in progress between two members of a party. */
export interface HandoffSession {
  giver: Agent;
  receiver: Agent;
  itemIds: string[];
  stage: 'approach' | 'reach' | 'exchanged' | 'aborted';
  meet: Vec3 | null;
  receiverHand: 0 | 1;
  receiverReady: boolean;
  giverDone: boolean;
  receiverDone: boolean;
  startedMs: number;
}

/** Members of a group wait this long for stragglers before moving on. */
const STRAGGLER_WAIT_MS = 60000;
const SESSION_TIMEOUT_MS = 30000;

/** Everyone on one visit: a lone shopper, a group with one payer, a member of staff or a tailgater. */
export class Party {
  readonly members: Agent[] = [];
  /** A stranger who will slip in behind this party's last person through the gate. */
  tailgater: Agent | null = null;
  qr: string | null = null;
  denied = false;
  /** The party's turn at the entry gate is over (entered or not). */
  entryOver = false;
  stops: Stop[] = [];
  /** Stops up to this one are finished by every member. */
  released = -1;
  private firstDoneMs: number | null = null;
  readonly handoffs: { from: Agent; itemIds: string[]; stop: number }[] = [];
  session: HandoffSession | null = null;

  constructor(
    readonly visit: Visit,
    public payer: Agent | null,
  ) {}

  /** Members inside the store and still shopping. */
  shopping(): Agent[] {
    return this.members.filter((m) => m.entered && !m.leaving && !m.done);
  }

  /** Called once per step: releases the next stop when everyone is done with it, running hand-overs first. */
  sync(now: number): void {
    if (this.members.length < 2) return;
    const s = this.session;
    if (s) {
      if (s.giverDone && s.receiverDone) this.session = null;
      else if (now - s.startedMs > SESSION_TIMEOUT_MS) s.stage = 'aborted';
      if (now - s.startedMs > 2 * SESSION_TIMEOUT_MS) this.session = null;
      return;
    }
    const next = this.released + 1;
    if (next >= this.stops.length) return;
    const inside = this.shopping();
    if (inside.length === 0) return;
    if (inside.every((m) => m.doneStop >= next)) {
      const i = this.handoffs.findIndex((h) => h.stop <= next && inside.includes(h.from));
      if (i >= 0 && inside.length >= 2) {
        const h = this.handoffs.splice(i, 1)[0]!;
        const others = inside.filter((m) => m !== h.from);
        let receiver = others[0]!;
        for (const m of others)
          if (h.from.distTo([m.body.x, m.body.y]) < h.from.distTo([receiver.body.x, receiver.body.y]))
            receiver = m;
        this.session = {
          giver: h.from,
          receiver,
          itemIds: h.itemIds,
          stage: 'approach',
          meet: null,
          receiverHand: 1,
          receiverReady: false,
          giverDone: false,
          receiverDone: false,
          startedMs: now,
        };
        return;
      }
      this.release(next);
    } else if (inside.some((m) => m.doneStop >= next)) {
      this.firstDoneMs ??= now;
      if (now - this.firstDoneMs > STRAGGLER_WAIT_MS) this.release(next);
    }
  }

  private release(stop: number): void {
    this.released = stop;
    this.firstDoneMs = null;
    for (let i = this.handoffs.length - 1; i >= 0; i--)
      if (this.handoffs[i]!.stop <= stop) this.handoffs.splice(i, 1);
  }
}

/**
 * Choice weights: a seeded ranking of plates; `popularity` moves weight from even to a steep Zipf
 * curve, and `twinBias` moves that share of it onto plates whose product has a weight twin.
 */
export function popularityWeights(
  store: StoreModel,
  rng: Rng,
  popularity: number,
  twinBias = 0,
): Float64Array {
  const n = store.plates.length;
  const order = rng.shuffle([...Array(n).keys()]);
  const zipf = order.map((_, rank) => 1 / (rank + 1) ** 2);
  const zsum = zipf.reduce((s, z) => s + z, 0);
  const w = new Float64Array(n);
  order.forEach((plate, rank) => {
    w[plate] = (1 - popularity) / n + (popularity * zipf[rank]!) / zsum;
  });
  const twinned = store.plates.filter((p) => p.sku !== null && store.twins(p.sku).length > 0);
  if (twinBias > 0 && twinned.length > 0) {
    for (let i = 0; i < n; i++) w[i] = w[i]! * (1 - twinBias);
    for (const p of twinned) w[p.index] = w[p.index]! + twinBias / twinned.length;
  }
  return w;
}

/** Draws up to `n` distinct plates that hold items, by popularity. */
export function choosePlates(ctx: Ctx, rng: Rng, n: number, among?: PlateInfo[]): PlateInfo[] {
  const { store, world, popularity } = ctx;
  const pool = (among ?? store.plates).filter((p) => world.plate(p.id).items.length > 0);
  const out: PlateInfo[] = [];
  while (out.length < n && pool.length > 0) {
    let total = 0;
    for (const p of pool) total += popularity[p.index]!;
    let r = rng.next() * total;
    let k = pool.length - 1;
    for (let i = 0; i < pool.length; i++) {
      r -= popularity[pool[i]!.index]!;
      if (r < 0) {
        k = i;
        break;
      }
    }
    out.push(pool.splice(k, 1)[0]!);
  }
  return out;
}

/** Visits plates in a nearest-first order from a starting point. */
export function route(plates: PlateInfo[], from: Vec2): PlateInfo[] {
  const left = [...plates];
  const out: PlateInfo[] = [];
  let at = from;
  while (left.length > 0) {
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    left.forEach((p, i) => {
      const s = standingSpot(p, 0.45);
      const d = Math.hypot(s[0] - at[0], s[1] - at[1]);
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    });
    const p = left.splice(best, 1)[0]!;
    out.push(p);
    at = standingSpot(p, 0.45);
  }
  return out;
}

/** Items in one visit: 1 + Poisson(mean − 1), at most `max`. */
export function itemCount(rng: Rng, mean: number, max: number): number {
  const lambda = Math.max(0, mean - 1);
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rng.next();
  while (p > limit && k < 200) {
    k += 1;
    p *= rng.next();
  }
  return Math.max(1, Math.min(max, 1 + k));
}

/** A shopping route for a party: the payer picks at every stop, others pick nearby or stand by. */
export function planShopping(ctx: Ctx, party: Party, rng: Rng): void {
  const b = ctx.scenario.behaviour;
  const n = itemCount(rng, b.itemsPerVisit.mean, b.itemsPerVisit.max);
  const start = ctx.store.entry.mid;
  const plates = route(choosePlates(ctx, rng, n), [start[0], start[1] + 1]);
  const lead = party.payer ?? party.members[0]!;
  party.stops = plates.map((p) => {
    const tasks = new Map<Agent, Task[]>();
    for (const m of party.members) {
      if (m === lead) tasks.set(m, [{ kind: 'pick', plateId: p.id }]);
      else if (rng.chance(0.6)) {
        const near = choosePlates(ctx, rng, 1, ctx.store.around(p.id, 1.6));
        tasks.set(m, near[0] ? [{ kind: 'pick', plateId: near[0].id }] : [{ kind: 'near', plateId: p.id }]);
      } else tasks.set(m, [{ kind: 'near', plateId: p.id }]);
    }
    return { plateId: p.id, tasks };
  });
}
