import type { Vec2, Vec3 } from '../../proto/index.ts';
import type { Rng } from '../core/rng.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { Person } from '../world/types.ts';
import type { World } from '../world/world.ts';
import { Body } from './body.ts';
import type { Party } from './party.ts';
import type { GatePort, ShopperApp } from './ports.ts';
import { angleDiff, type Bend, len } from './pose.ts';
import type { StoreModel } from './store.ts';

/** A coroutine that runs one simulation step per `yield`. */
export type Gen<T = void> = Generator<void, T, void>;

export interface CrowdStats {
  spawned: number;
  parties: number;
  groups: number;
  staffVisits: number;
  entered: number;
  denied: number;
  exited: number;
  picks: number;
  multiPicks: number;
  putbacks: number;
  misplaced: number;
  misplacedOnTwin: number;
  deferredPutbacks: number;
  handoffs: number;
  tailgates: number;
  restocks: number;
  leans: number;
  inspects: number;
  reachPast: number;
  gaveUp: number;
  maxPresent: number;
}

export function emptyStats(): CrowdStats {
  return {
    spawned: 0,
    parties: 0,
    groups: 0,
    staffVisits: 0,
    entered: 0,
    denied: 0,
    exited: 0,
    picks: 0,
    multiPicks: 0,
    putbacks: 0,
    misplaced: 0,
    misplacedOnTwin: 0,
    deferredPutbacks: 0,
    handoffs: 0,
    tailgates: 0,
    restocks: 0,
    leans: 0,
    inspects: 0,
    reachPast: 0,
    gaveUp: 0,
    maxPresent: 0,
  };
}

/** What every agent shares: the world, the store's geometry, the ports and the crowd. */
export interface Ctx {
  world: World;
  scenario: Scenario;
  store: StoreModel;
  app: ShopperApp;
  gates: GatePort;
  stats: CrowdStats;
  /** Persons present, in the order they arrived. */
  agents: Agent[];
  bodies: Body[];
  /** Parties waiting at the entry gate, first in line first. */
  entryQueue: Party[];
  /** Persons queueing to walk out through the exit gate, first in line first. */
  exitQueue: Agent[];
  /** Choice weight of each plate (index of store.plates). */
  popularity: Float64Array;
  now: number;
}

export type Task =
  | { kind: 'pick'; plateId: string }
  | { kind: 'near'; plateId: string }
  | { kind: 'return'; plateId: string; itemIds: string[] }
  | { kind: 'restock'; plateId: string; sku: string };

export type AgentKind = 'shopper' | 'staff' | 'tailgater';

/** One person: the world's record, a body, a random stream and a brain (a coroutine). */
export class Agent {
  readonly body: Body;
  /** The standing spot this agent is heading for or standing on. */
  claim: Vec2 | null = null;
  entered = false;
  /** The entry gate is done with this person: entered, or turned away. */
  entryOver = false;
  leaving = false;
  done = false;
  /** Last stop of the party's route this agent has finished. */
  doneStop = -1;
  /** Tasks put off until a later stop (put-backs from the basket). */
  readonly later: { dueStop: number; task: Task }[] = [];
  /** Items that will go back to a shelf: never handed to another member. */
  readonly reserved = new Set<string>();
  brain: Gen | null = null;

  constructor(
    readonly ctx: Ctx,
    readonly person: Person,
    readonly kind: AgentKind,
    readonly rng: Rng,
    public party: Party,
    speedMps: number,
  ) {
    this.body = new Body(person.posM[0], person.posM[1], person.headingRad, speedMps, person.appearance);
    this.body.writePose(person);
  }

  get id(): string {
    return this.person.personId;
  }

  think(): void {
    if (!this.brain || this.done) return;
    if (this.brain.next().done) this.done = true;
  }

  distTo(p: Vec2): number {
    return len(p[0] - this.body.x, p[1] - this.body.y);
  }
}

export function* waitMs(a: Agent, ms: number): Gen {
  const until = a.ctx.now + ms;
  while (a.ctx.now < until) yield;
}

export interface WalkOptions {
  /** 'plan': A* on the planning grid; 'direct': straight to the goal (gate crossings); 'free': straight, off any grid. */
  mode?: 'plan' | 'direct' | 'free';
  timeoutMs?: number;
  /** Keep going (through people if need be) rather than give up. */
  must?: boolean;
  /** Stop walking (and return false) as soon as this says so. */
  abort?: () => boolean;
}

/** Walks to a point; false when it could not get there in time (the caller gives the target up). */
export function* walkTo(a: Agent, goal: Vec2, opts: WalkOptions = {}): Gen<boolean> {
  const { ctx, body } = a;
  const mode = opts.mode ?? 'plan';
  const plan = () => (mode === 'plan' ? ctx.store.findPath([body.x, body.y], goal) : [goal]);
  const path = plan();
  if (!path) {
    // Unreachable: let a step pass all the same, so that a caller's retry loop moves on in time.
    yield;
    return false;
  }
  body.free = mode === 'free';
  body.faceHeading = null;
  body.setPath(path);
  const timeout = opts.timeoutMs ?? 20000 + (4000 * a.distTo(goal)) / body.speedMps;
  let t0 = ctx.now;
  let lastPlan = ctx.now;
  let rounds = 0;
  for (;;) {
    yield;
    if (!body.path) {
      body.free = false;
      return a.distTo(goal) < 0.3;
    }
    if (opts.abort?.()) {
      body.stop();
      body.free = false;
      return false;
    }
    if (!opts.must && body.stuckMs > 2000 && a.distTo(goal) < 1 && goalTaken(a, goal)) {
      // Someone stands where we meant to stand: choose again rather than push in.
      body.stop();
      return false;
    }
    if (mode === 'plan' && body.stuckMs > 2000 && ctx.now - lastPlan > 3000) {
      // Blocked: plan again around the people standing still (another aisle, maybe).
      lastPlan = ctx.now;
      const standing = ctx.agents
        .filter((o) => o !== a && o.person.present && !o.body.walking)
        .map((o): Vec2 => [o.body.x, o.body.y]);
      const again = ctx.store.findPath([body.x, body.y], goal, standing);
      if (again) body.setPath(again, true);
    }
    if (ctx.now - t0 > timeout) {
      if (!opts.must) {
        body.stop();
        body.free = false;
        return false;
      }
      body.ghostUntilMs = ctx.now + 4000;
      t0 = ctx.now;
      rounds += 1;
      // A scripted walk that keeps failing is let through (gates only: no fixture near them).
      if (mode === 'direct' && rounds >= 2) body.free = true;
    }
  }
}

function goalTaken(a: Agent, goal: Vec2): boolean {
  for (const o of a.ctx.agents) {
    if (o !== a && o.person.present && !o.body.walking && len(o.body.x - goal[0], o.body.y - goal[1]) < 0.4)
      return true;
  }
  return false;
}

/** Turns on the spot to a heading (arms must be hanging). */
export function* turnTo(a: Agent, heading: number): Gen {
  a.body.faceHeading = heading;
  const until = a.ctx.now + 2000;
  while (Math.abs(angleDiff(a.body.heading, heading)) > 0.03 && a.ctx.now < until) yield;
}

/** Moves a hand to a point (or back to hanging) and waits until it is there. */
export function* armTo(a: Agent, hand: 0 | 1, to: Vec3 | 'rest', bend: Bend, durMs: number): Gen {
  a.body.moveArm(hand, to, bend, a.ctx.now, durMs);
  while (a.body.arms[hand].mode === 'move') yield;
}
