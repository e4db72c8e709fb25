import type { Vec2, Vec3 } from '../../proto/index.ts';
import { type Agent, armTo, type Gen, type Task, turnTo, waitMs, walkTo } from './agent.ts';
import { awaitEntry, exitStore, walkAway } from './gate.ts';
import { gatePoint } from './nav.ts';
import type { HandoffSession } from './party.ts';
import { shoulderFromHead, solveReach, UPRIGHT } from './pose.ts';
import { spotTaken, standNear } from './spots.ts';
import { pickAt, restockAt, returnItems, stowHand } from './tasks.ts';

/**
 * The brain of one person, as a coroutine: get in, work through the party's stops (in step with
 * the rest of a group, handing items over at the end of a stop), do any put-backs left for later,
 * and leave through the exit gate.
 */

const HANDOFF_WAIT_MS = 8000;

export function* personBrain(a: Agent): Gen {
  if (!(yield* awaitEntry(a))) {
    yield* walkAway(a);
    return;
  }
  yield* clearEntrance(a);
  const party = a.party;
  for (let i = 0; i < party.stops.length; i++) {
    for (const task of party.stops[i]!.tasks.get(a) ?? []) yield* doTask(a, task, i);
    for (const t of takeDue(a, i)) yield* doTask(a, t, i);
    a.doneStop = i;
    yield* waitRelease(a, i);
  }
  for (const t of takeDue(a, Number.POSITIVE_INFINITY)) yield* doTask(a, t, party.stops.length);
  yield* exitStore(a);
}

/** Steps away from the entry gate into the store (to the least crowded of a few places), clear of those coming in behind. */
function* clearEntrance(a: Agent): Gen {
  const { store, agents } = a.ctx;
  let best: Vec2 | null = null;
  let bestRoom = -1;
  for (let i = 0; i < 12; i++) {
    const p = gatePoint(store.entry, a.rng.range(-0.8, 2.5), a.rng.range(0.8, 1.6));
    if (!store.plan.isFree(p[0], p[1])) continue;
    let room = 2;
    for (const o of agents)
      if (o !== a && o.person.present) room = Math.min(room, Math.hypot(o.body.x - p[0], o.body.y - p[1]));
    if (room > bestRoom) {
      bestRoom = room;
      best = p;
    }
  }
  if (best) yield* walkTo(a, best, { timeoutMs: 8000 });
}

function takeDue(a: Agent, stop: number): Task[] {
  const due = a.later.filter((l) => l.dueStop <= stop);
  for (const l of due) a.later.splice(a.later.indexOf(l), 1);
  return due.map((l) => l.task);
}

function* doTask(a: Agent, task: Task, stop: number): Gen {
  switch (task.kind) {
    case 'pick':
      yield* pickAt(a, task.plateId, stop);
      break;
    case 'near':
      yield* standNear(a, task.plateId);
      break;
    case 'return':
      yield* returnItems(a, task.plateId, task.itemIds);
      break;
    case 'restock':
      yield* restockAt(a, task.plateId, task.sku);
      break;
  }
}

/** A group member waits for the others to finish a stop, taking part in any hand-over meanwhile. */
function* waitRelease(a: Agent, stop: number): Gen {
  const party = a.party;
  if (party.members.length < 2) return;
  while (party.released < stop) {
    const s = party.session;
    if (s && s.giver === a && !s.giverDone) yield* give(a, s);
    else if (s && s.receiver === a && !s.receiverDone) yield* receive(a, s);
    else yield;
  }
}

function facing(from: Agent, to: Agent): number {
  return Math.atan2(to.body.y - from.body.y, to.body.x - from.body.x);
}

/** Read through a call: the other side changes the stage between steps. */
function isAborted(s: HandoffSession): boolean {
  return s.stage === 'aborted';
}

function* waitFor(a: Agent, s: HandoffSession, ok: () => boolean): Gen<boolean> {
  const until = a.ctx.now + HANDOFF_WAIT_MS;
  while (!ok()) {
    if (s.stage === 'aborted' || a.ctx.now > until) {
      s.stage = 'aborted';
      return false;
    }
    yield;
  }
  return true;
}

/** A free place about 0.7 m from another person, on the side we come from if possible. */
function besideSpot(a: Agent, other: Agent): Vec2 | null {
  const o = other.body;
  const start = Math.atan2(a.body.y - o.y, a.body.x - o.x);
  for (let i = 0; i < 12; i++) {
    const ang = start + (i % 2 === 0 ? 1 : -1) * Math.ceil(i / 2) * (Math.PI / 6);
    const p: Vec2 = [o.x + Math.cos(ang) * 0.7, o.y + Math.sin(ang) * 0.7];
    if (a.ctx.store.plan.isFree(p[0], p[1]) && !spotTaken(a, p)) return p;
  }
  return null;
}

/** Giver: item out of the basket, step up to the receiver, hold it out, let go when taken. */
function* give(a: Agent, s: HandoffSession): Gen {
  const { ctx, body } = a;
  const ids = s.itemIds.filter((id) => a.person.basket.some((i) => i.itemId === id) && !a.reserved.has(id));
  const finish = () => {
    s.giverDone = true;
  };
  if (ids.length !== s.itemIds.length || ids.length === 0) {
    s.stage = 'aborted';
    return finish();
  }
  const r = s.receiver.body;
  if (a.distTo([r.x, r.y]) > 0.8) {
    const to = besideSpot(a, s.receiver);
    if (to) {
      a.claim = to;
      yield* walkTo(a, to, { timeoutMs: 15000 });
      a.claim = null;
    }
  }
  if (isAborted(s) || a.distTo([r.x, r.y]) > 0.95) {
    s.stage = 'aborted';
    return finish();
  }
  yield* turnTo(a, facing(a, s.receiver));
  const hand: 0 | 1 = 1;
  const sh = shoulderFromHead(body.head, body.heading, body.app, hand);
  const rsh = shoulderFromHead(r.head, r.heading, r.app, s.receiverHand);
  const meet: Vec3 = [(body.x + r.x) / 2, (body.y + r.y) / 2, Math.min(sh[2], rsh[2]) - 0.3];
  const plan = solveReach(body.x, body.y, body.heading, body.app, meet, hand);
  if (!plan || isAborted(s)) {
    s.stage = 'aborted';
    return finish();
  }
  ctx.world.unstow(a.id, hand, ids);
  s.meet = meet;
  s.stage = 'reach';
  yield* armTo(a, hand, meet, plan.bend, a.rng.range(500, 800));
  if (yield* waitFor(a, s, () => s.receiverReady)) {
    ctx.world.handOff(a.id, hand, s.receiver.id, s.receiverHand, ids, ctx.now);
    ctx.stats.handoffs += 1;
    s.stage = 'exchanged';
  }
  yield* armTo(a, hand, 'rest', UPRIGHT, a.rng.range(400, 700));
  if (s.stage !== 'exchanged') yield* stowHand(a, hand, ids);
  finish();
}

/** Receiver: face the giver, hold a hand out to meet theirs, take the item, put it in the basket. */
function* receive(a: Agent, s: HandoffSession): Gen {
  const { body } = a;
  const finish = () => {
    s.receiverDone = true;
  };
  const ready = yield* waitFor(a, s, () => {
    body.faceHeading = facing(a, s.giver);
    return s.stage !== 'approach';
  });
  if (!ready || !s.meet) return finish();
  yield* turnTo(a, facing(a, s.giver));
  const towards = facing(a, s.giver);
  const meet: Vec3 = [s.meet[0] - Math.cos(towards) * 0.04, s.meet[1] - Math.sin(towards) * 0.04, s.meet[2]];
  let plan = solveReach(body.x, body.y, body.heading, body.app, meet, s.receiverHand);
  if (!plan) {
    s.receiverHand = s.receiverHand === 0 ? 1 : 0;
    plan = solveReach(body.x, body.y, body.heading, body.app, meet, s.receiverHand);
  }
  if (!plan) {
    s.stage = 'aborted';
    return finish();
  }
  const hand = s.receiverHand;
  yield* armTo(a, hand, meet, plan.bend, a.rng.range(500, 800));
  s.receiverReady = true;
  yield* waitFor(a, s, () => s.stage === 'exchanged');
  yield* waitMs(a, 150);
  yield* armTo(a, hand, 'rest', UPRIGHT, a.rng.range(400, 700));
  const got = s.itemIds.filter((id) => a.person.hands[hand].holding.some((i) => i.itemId === id));
  if (got.length > 0) yield* stowHand(a, hand, got);
  finish();
}
