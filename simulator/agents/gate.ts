import type { Vec2 } from '../../proto/index.ts';
import { type Agent, armTo, type Gen, turnTo, waitMs, walkTo } from './agent.ts';
import { type GateLine, gateAlong, gatePoint, gateSide } from './nav.ts';
import type { GateDecision } from './ports.ts';
import { solveReach, UPRIGHT } from './pose.ts';

/**
 * Through the gates. At the entry the payer waits its turn, asks the app for a code, and scans the
 * code once for each member of its party (each crosses after its own scan, the payer last); a
 * tailgater follows the last one through. At the exit people line up and walk out one by one.
 */

const APP_TIMEOUT_MS = 30000;
const DECISION_TIMEOUT_MS = 20000;
/** Where the payer stands to scan, and where the next member waits to cross: along the gate from its middle. */
const SCAN_ALONG_M = -0.25;
const LANE_ALONG_M = 0.2;
const QUEUE_BACK_M = 0.45;
const TAILGATE_GAP_M = 0.4;

/** Asks the app for an entry code; a synchronous answer is used at once. Null when none comes. */
export function* requestCode(a: Agent, role: 'shopper' | 'staff', companions = 0): Gen<string | null> {
  const { ctx } = a;
  let answer: string | Promise<string>;
  try {
    answer = ctx.app.requestEntryCode({
      personId: a.id,
      visitId: a.person.visitId,
      role,
      companions,
      tsMs: ctx.now,
    });
  } catch {
    return null;
  }
  if (typeof answer === 'string') return answer;
  const state: { done: boolean; code: string | null } = { done: false, code: null };
  answer.then(
    (code) => {
      state.done = true;
      state.code = code;
    },
    () => {
      state.done = true;
    },
  );
  const until = ctx.now + APP_TIMEOUT_MS;
  while (!state.done && ctx.now < until) yield;
  return state.code;
}

/**
 * The vestibule is a narrow strip: people wait along its outer edge (see `waitingSpots`) and
 * walk along its inner edge, next to the gate line, so that they pass each other.
 */
const WALK_INWARD_M = -0.28;
const WAIT_INWARD_M = -0.73;

/** Where people wait in the vestibule: beside the entry gate, away from the scanner first. */
export function waitingSpots(g: GateLine): Vec2[] {
  return [0.6, 1.05, 1.5, -0.7, -1.15].map((along) => gatePoint(g, along, WAIT_INWARD_M));
}

/** Walks a person (the payer directs the members) along the vestibule's walkway to a spot by the gate. */
function* bring(m: Agent, g: GateLine, to: Vec2): Gen {
  const { body, ctx } = m;
  const lane = (x: number, y: number) => gatePoint(g, gateAlong(g, x, y) - g.widthM / 2, WALK_INWARD_M);
  body.faceHeading = null;
  body.setPath([lane(body.x, body.y), lane(to[0], to[1]), to]);
  const until = ctx.now + 15000;
  while (body.path && ctx.now < until) {
    if (body.stuckMs > 2000) body.ghostUntilMs = ctx.now + 2000;
    yield;
  }
}

function* scanOnce(payer: Agent, g: GateLine, qr: string): Gen<{ scanId: string; decision: GateDecision }> {
  const { ctx, body } = payer;
  const scanner = gatePoint(g, -g.widthM / 2 + 0.05, -0.06);
  const plan = solveReach(body.x, body.y, body.heading, body.app, [scanner[0], scanner[1], 1.1]);
  if (plan) yield* armTo(payer, plan.hand, [scanner[0], scanner[1], 1.1], plan.bend, 400);
  const scanId = ctx.gates.scan(g.id, payer.id, qr, ctx.now);
  // The hand comes back down while the gate decides.
  if (plan) body.moveArm(plan.hand, 'rest', UPRIGHT, ctx.now, 300);
  const until = ctx.now + DECISION_TIMEOUT_MS;
  let decision = ctx.gates.decision(scanId);
  while (decision === 'pending' && ctx.now < until) {
    yield;
    decision = ctx.gates.decision(scanId);
  }
  while (!body.armsIdle()) yield;
  return { scanId, decision: decision === 'pending' ? 'deny' : decision };
}

/** Walks a person across the entry line; `world.enter` is called when the torso crosses it. */
function* cross(m: Agent, g: GateLine, scanId: string): Gen {
  const { ctx, body } = m;
  const along = Math.max(-0.28, Math.min(0.28, gateAlong(g, body.x, body.y) - g.widthM / 2));
  body.watch = {
    gate: g,
    side: gateSide(g, body.x, body.y),
    onCross: (ts) => {
      ctx.world.enter(m.id, g.id, scanId, ts);
      m.entered = true;
      ctx.stats.entered += 1;
    },
  };
  body.faceHeading = null;
  body.passing = { gate: g, towards: 1 };
  body.setPath([gatePoint(g, along, 0.9)]);
  const until = ctx.now + 10000;
  while (!m.entered && ctx.now < until) {
    if (body.stuckMs > 1500) body.ghostUntilMs = ctx.now + 1000;
    yield;
  }
  body.watch = null;
  if (!m.entered) body.passing = null;
}

function startTailgate(t: Agent, ahead: Agent, g: GateLine): void {
  const { ctx, body } = t;
  body.speedMps *= 1.8;
  body.watch = {
    gate: g,
    side: gateSide(g, body.x, body.y),
    onCross: (ts) => {
      ctx.world.tailgate(t.id, g.id, ahead.id, ts);
      ctx.world.enter(t.id, g.id, null, ts);
      t.entered = true;
      ctx.stats.tailgates += 1;
      ctx.stats.entered += 1;
    },
  };
  body.passing = { gate: g, towards: 1 };
  body.follow = () => [
    ahead.body.x - g.inward[0] * TAILGATE_GAP_M,
    ahead.body.y - g.inward[1] * TAILGATE_GAP_M,
  ];
}

function endTailgate(t: Agent): void {
  t.body.follow = null;
  t.body.stop();
  t.body.watch = null;
  t.body.speedMps /= 1.8;
  if (!t.entered) t.body.passing = null;
}

/** The payer's turn at the entry: queue, code, one scan per member, crossings, and any tailgater. */
export function* runEntry(payer: Agent): Gen {
  const { ctx } = payer;
  const party = payer.party;
  const g = ctx.store.entry;
  const tailgater = party.tailgater;
  const everyone = [...party.members, ...(tailgater ? [tailgater] : [])];
  ctx.entryQueue.push(party);
  while (ctx.entryQueue[0] !== party) yield;
  // The code is fetched at the head of the line, as the app shows it, because a cloud code lives
  // only 30 s and the wait in line can be longer.
  const role = payer.kind === 'staff' ? 'staff' : 'shopper';
  const code = yield* requestCode(payer, role, party.members.length - 1);
  if (code !== null) {
    party.qr = code;
    party.visit.qr = code;
    yield* bring(payer, g, gatePoint(g, SCAN_ALONG_M, -QUEUE_BACK_M));
    const inward = Math.atan2(g.inward[1], g.inward[0]);
    const lane = gatePoint(g, LANE_ALONG_M, -QUEUE_BACK_M);
    const order = [...party.members.filter((m) => m !== payer), payer];
    for (const m of order) {
      if (m !== payer) yield* bring(m, g, lane);
      else if (tailgater) yield* bring(tailgater, g, lane);
      yield* turnTo(payer, inward);
      const { scanId, decision } = yield* scanOnce(payer, g, code);
      if (decision !== 'open') {
        party.denied = true;
        break;
      }
      if (m === payer && tailgater) startTailgate(tailgater, payer, g);
      yield* cross(m, g, scanId);
      if (!m.entered) m.entryOver = true;
    }
    if (tailgater?.body.follow) {
      const until = ctx.now + 6000;
      while (!tailgater.entered && ctx.now < until) yield;
      endTailgate(tailgater);
    }
  } else party.denied = true;
  const i = ctx.entryQueue.indexOf(party);
  if (i >= 0) ctx.entryQueue.splice(i, 1);
  for (const m of everyone) {
    if (!m.entered) ctx.stats.denied += 1;
    m.entryOver = true;
  }
  party.entryOver = true;
}

/** Waits at the entry until let in (true) or turned away (false). */
export function* awaitEntry(a: Agent): Gen<boolean> {
  if (a === a.party.payer && a.kind !== 'tailgater') yield* runEntry(a);
  while (!a.entered && !a.entryOver) yield;
  return a.entered;
}

/** Walks out of the vestibule (never let in) and disappears. */
export function* walkAway(a: Agent): Gen {
  const g = a.ctx.store.entry;
  const out: Vec2 = [a.body.x - g.inward[0] * 1.2, a.body.y - g.inward[1] * 1.2];
  yield* walkTo(a, out, { mode: 'free', must: true });
  a.person.present = false;
}

/** The line for the exit runs along the gate, into the open floor beside it (not up an aisle). */
const EXIT_QUEUE_SPOTS = 12;
const EXIT_QUEUE_STEP_M = 0.55;
/** People join the line when this close to its end, so that it forms in the order they come. */
const JOIN_M = 1.2;

function exitSpot(g: GateLine, k: number, along: number): Vec2 {
  return k === 0
    ? gatePoint(g, along, 0.5)
    : gatePoint(g, EXIT_QUEUE_STEP_M * Math.min(k, EXIT_QUEUE_SPOTS), 0.75);
}

/** Queues for the exit gate, walks across it (`world.exit` when the torso crosses), out of the vestibule, and disappears. */
export function* exitStore(a: Agent): Gen {
  const { ctx, body } = a;
  a.leaving = true;
  a.claim = null;
  const g = ctx.store.exit;
  const queue = ctx.exitQueue;
  const along = a.rng.range(-0.15, 0.15);
  for (;;) {
    const n = queue.length;
    const tail = exitSpot(g, n, along);
    if (a.distTo(tail) < JOIN_M) break;
    yield* walkTo(a, tail, { must: true, abort: () => queue.length !== n || a.distTo(tail) < JOIN_M });
  }
  queue.push(a);
  for (;;) {
    const k = queue.indexOf(a);
    const spot = exitSpot(g, k, along);
    const abort = () => queue.indexOf(a) !== k;
    if (a.distTo(spot) > 0.08)
      yield* walkTo(a, spot, { must: true, mode: a.distTo(spot) < 0.6 ? 'direct' : 'plan', abort });
    if (queue.indexOf(a) === 0 && a.distTo(spot) < 0.3) break;
    yield* waitMs(a, 100);
  }
  body.watch = {
    gate: g,
    side: gateSide(g, body.x, body.y),
    onCross: (ts) => {
      ctx.world.exit(a.id, g.id, ts);
      ctx.stats.exited += 1;
      // Through: the next in line may come up.
      const i = queue.indexOf(a);
      if (i >= 0) queue.splice(i, 1);
    },
  };
  body.passing = { gate: g, towards: -1 };
  yield* walkTo(a, gatePoint(g, along, -0.5), { mode: 'direct', must: true });
  body.watch = null;
  if (a.person.inStore) {
    ctx.world.exit(a.id, g.id, ctx.now);
    ctx.stats.exited += 1;
  }
  const i = queue.indexOf(a);
  if (i >= 0) queue.splice(i, 1);
  yield* walkTo(a, gatePoint(g, along, -1.5), { mode: 'free', must: true });
  a.person.present = false;
}
