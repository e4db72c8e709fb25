import type { Vec2 } from '../../proto/index.ts';
import { Rng } from '../core/rng.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { Person, PersonRole, Visit } from '../world/types.ts';
import type { World } from '../world/world.ts';
import { Agent, type AgentKind, type CrowdStats, type Ctx, emptyStats, type Task } from './agent.ts';
import { makeAppearance } from './appearance.ts';
import { waitingSpots } from './gate.ts';
import { gatePoint } from './nav.ts';
import { Party, planShopping, popularityWeights, route } from './party.ts';
import type { GatePort, ShopperApp } from './ports.ts';
import { headPoint, len, UPRIGHT } from './pose.ts';
import { personBrain } from './shopper.ts';
import { StoreModel } from './store.ts';

export type { CrowdStats } from './agent.ts';

export interface CrowdOptions {
  world: World;
  scenario: Scenario;
  seed: number;
  app: ShopperApp;
  gates: GatePort;
  /** stop spawning new arrivals after this sim time (ms since start); existing shoppers finish */
  arrivalsUntilMs?: number;
  startMs: number;
}

const HOUR_MS = 3_600_000;
/** Staff bring at most this many units of one SKU. */
const STAFF_MAX_UNITS = 24;

interface Arrival {
  size: number;
  tailgater: boolean;
}

/**
 * The people in the store: arrivals (Poisson, groups, tailgaters, staff), each person's brain, and
 * their bodies moving among each other. Deterministic for a seed and a synchronous app: persons
 * are stepped in arrival order and every random draw comes from a named stream.
 */
export class Crowd {
  readonly stats: CrowdStats = emptyStats();
  readonly store: StoreModel;
  private readonly ctx: Ctx;
  private readonly arrivalRng: Rng;
  private readonly staffRng: Rng;
  private readonly parties: Party[] = [];
  private nextShopperMs: number;
  private nextStaffMs: number;
  private pending: Arrival | null = null;
  private personCount = 0;
  /** Places to wait in the vestibule; arrivals who find none free wait outside (not simulated). */
  private readonly waiting: Vec2[];
  private visitCount = 0;

  constructor(private readonly opts: CrowdOptions) {
    const { world, scenario, seed } = opts;
    this.store = new StoreModel(world.layout, world);
    this.arrivalRng = Rng.stream(seed, 'crowd.arrivals');
    this.staffRng = Rng.stream(seed, 'crowd.staff');
    const popularity = popularityWeights(
      this.store,
      Rng.stream(seed, 'crowd.popularity'),
      scenario.behaviour.popularity,
      scenario.behaviour.twinShelfBias,
    );
    this.ctx = {
      world,
      scenario,
      store: this.store,
      app: opts.app,
      gates: opts.gates,
      stats: this.stats,
      agents: [],
      bodies: [],
      entryQueue: [],
      exitQueue: [],
      popularity,
      now: opts.startMs,
    };
    this.nextShopperMs = opts.startMs;
    this.waiting = waitingSpots(this.store.entry);
    const staffRate = scenario.arrivals.staffVisitsPerHour;
    this.nextStaffMs =
      staffRate > 0
        ? opts.startMs + this.staffRng.exponential(HOUR_MS / staffRate)
        : Number.POSITIVE_INFINITY;
  }

  /** Persons present (vestibule or store), in arrival order. */
  get agents(): readonly Agent[] {
    return this.ctx.agents;
  }

  step(tsMs: number, dtMs: number): void {
    const ctx = this.ctx;
    ctx.now = tsMs;
    if (this.arriving(tsMs)) this.arrive(tsMs);
    for (const p of this.parties) p.sync(tsMs);
    for (const a of ctx.agents) a.think();
    for (const a of ctx.agents) {
      if (!a.person.present) continue;
      a.body.update(tsMs, dtMs, ctx.bodies, a.body.passing ? this.store.moveThroughGates : this.store.move);
      a.body.writePose(a.person);
    }
    if (ctx.agents.some((a) => a.done || !a.person.present)) {
      ctx.agents = ctx.agents.filter((a) => !a.done && a.person.present);
      for (let i = this.parties.length - 1; i >= 0; i--) {
        const p = this.parties[i]!;
        if (p.members.every((m) => m.done || !m.person.present)) this.parties.splice(i, 1);
      }
    }
    ctx.bodies = ctx.agents.map((a) => a.body);
    this.stats.maxPresent = Math.max(this.stats.maxPresent, ctx.agents.length);
  }

  /** no one present and no more arrivals */
  idle(tsMs: number): boolean {
    return this.ctx.agents.length === 0 && !this.arriving(tsMs);
  }

  private arriving(tsMs: number): boolean {
    const a = this.opts.scenario.arrivals;
    const open =
      this.opts.arrivalsUntilMs === undefined || tsMs - this.opts.startMs < this.opts.arrivalsUntilMs;
    return open && (a.shoppersPerHour > 0 || a.staffVisitsPerHour > 0);
  }

  private arrive(tsMs: number): void {
    const a = this.opts.scenario.arrivals;
    const rng = this.arrivalRng;
    while (a.shoppersPerHour > 0 && tsMs >= this.nextShopperMs) {
      this.pending ??= {
        size: rng.chance(a.groupProbability)
          ? rng.int(a.groupSize[0], Math.max(a.groupSize[0], a.groupSize[1]))
          : 1,
        tailgater: rng.chance(a.tailgateProbability),
      };
      const size = Math.min(this.pending.size, a.maxInStore);
      const shoppers = this.ctx.agents.filter((x) => x.person.role === 'shopper').length;
      const persons = size + (this.pending.tailgater ? 1 : 0);
      if (
        shoppers + size > a.maxInStore ||
        this.freeWaitingSpots().length < Math.min(persons, this.waiting.length)
      ) {
        // Full: the arrival waits outside; the next one is drawn from when this one gets in.
        this.nextShopperMs = tsMs + 1;
        break;
      }
      this.spawnParty(size, this.pending.tailgater && shoppers + size < a.maxInStore);
      this.pending = null;
      this.nextShopperMs += rng.exponential(HOUR_MS / a.shoppersPerHour);
    }
    while (a.staffVisitsPerHour > 0 && tsMs >= this.nextStaffMs) {
      this.spawnStaff();
      this.nextStaffMs += this.staffRng.exponential(HOUR_MS / a.staffVisitsPerHour);
    }
  }

  /** Free places to wait in the vestibule, in order of preference. */
  private freeWaitingSpots(): Vec2[] {
    return this.waiting.filter((p) => this.ctx.bodies.every((b) => len(b.x - p[0], b.y - p[1]) > 0.4));
  }

  private newVisit(kind: Visit['kind'], memberIds: string[]): Visit {
    this.visitCount += 1;
    const visit: Visit = {
      visitId: `v${String(this.visitCount).padStart(5, '0')}`,
      kind,
      payerId: memberIds[0]!,
      memberIds,
      qr: null,
      enteredMs: null,
      closedMs: null,
    };
    return visit;
  }

  private newAgent(visit: Visit, personId: string, role: PersonRole, kind: AgentKind, party: Party): Agent {
    const free = this.freeWaitingSpots();
    const rng = Rng.stream(this.opts.seed, `agent:${personId}`);
    const appearance = makeAppearance(rng, role, Rng.stream(this.opts.seed, `outfit:${personId}`));
    // Squeezed in when the vestibule is full (staff do not wait their turn outside).
    const pos = free[0] ?? gatePoint(this.store.entry, this.arrivalRng.range(0.6, 1.5), -0.73);
    const g = this.store.entry;
    const heading = Math.atan2(g.inward[1], g.inward[0]);
    const hand = () => ({
      posM: [pos[0], pos[1], 0.8] as [number, number, number],
      holding: [],
      onPlateId: null,
      pressG: 0,
    });
    const person: Person = {
      personId,
      visitId: visit.visitId,
      role,
      appearance,
      posM: pos,
      headingRad: heading,
      headM: headPoint(pos[0], pos[1], heading, appearance, UPRIGHT),
      hands: [hand(), hand()],
      basket: [],
      present: true,
      inStore: false,
    };
    this.opts.world.addPerson(person);
    const speed =
      this.opts.scenario.behaviour.walkSpeedMps * rng.range(0.85, 1.15) * (role === 'staff' ? 1.1 : 1);
    const agent = new Agent(this.ctx, person, kind, rng, party, speed);
    agent.body.sight = this.store.comfort;
    agent.body.sightNear = this.store.plan;
    this.ctx.agents.push(agent);
    this.ctx.bodies.push(agent.body);
    this.stats.spawned += 1;
    return agent;
  }

  private personIds(n: number): string[] {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      this.personCount += 1;
      ids.push(`p${String(this.personCount).padStart(5, '0')}`);
    }
    return ids;
  }

  private startParty(visit: Visit, ids: string[], role: PersonRole, kind: AgentKind): Party {
    this.opts.world.addVisit(visit);
    const party = new Party(visit, null);
    for (const id of ids) party.members.push(this.newAgent(visit, id, role, kind, party));
    party.payer = party.members[0]!;
    this.parties.push(party);
    this.stats.parties += 1;
    return party;
  }

  private spawnParty(size: number, withTailgater: boolean): void {
    const ids = this.personIds(size);
    const party = this.startParty(this.newVisit('shopper', ids), ids, 'shopper', 'shopper');
    if (size > 1) this.stats.groups += 1;
    planShopping(this.ctx, party, party.payer!.rng);
    if (withTailgater) {
      const tid = this.personIds(1);
      const own = this.startParty(this.newVisit('tailgater', tid), tid, 'shopper', 'tailgater');
      const t = own.members[0]!;
      planShopping(this.ctx, own, t.rng);
      party.tailgater = t;
      t.brain = personBrain(t);
    }
    for (const m of party.members) m.brain = personBrain(m);
  }

  /** Staff come with units for plates below half their planogram capacity, restock them and leave. */
  private spawnStaff(): void {
    const { world } = this.opts;
    const ids = this.personIds(1);
    const party = this.startParty(this.newVisit('staff', ids), ids, 'staff', 'staff');
    const a = party.members[0]!;
    this.stats.staffVisits += 1;
    const fill = (p: (typeof this.store.plates)[number]) => world.plate(p.id).items.length / p.capacityUnits;
    const low = this.store.plates
      .filter((p) => p.sku !== null && p.capacityUnits > 0 && fill(p) < 0.5)
      .sort((x, y) => fill(x) - fill(y) || x.index - y.index)
      .slice(0, 3);
    for (const p of low) {
      const n = Math.min(STAFF_MAX_UNITS, p.capacityUnits - world.plate(p.id).items.length);
      for (let i = 0; i < n; i++) a.person.basket.push(world.makeUnit(p.sku!, this.staffRng));
    }
    const targets =
      low.length > 0 ? low : [this.staffRng.pick(this.store.plates), this.staffRng.pick(this.store.plates)];
    party.stops = route(targets, [this.store.entry.mid[0], this.store.entry.mid[1] + 1]).map((p) => {
      const task: Task =
        low.length > 0 ? { kind: 'restock', plateId: p.id, sku: p.sku! } : { kind: 'near', plateId: p.id };
      return { plateId: p.id, tasks: new Map([[a, [task]]]) };
    });
    a.brain = personBrain(a);
  }
}
