import { type Agent, armTo, type Gen, turnTo, waitMs } from './agent.ts';
import { chestPoint, type ReachPlan, restHand, shoulderFromHead, UPRIGHT } from './pose.ts';
import { claimSpot, reachFromHere, standNear } from './spots.ts';
import { type PlateInfo, standingSpot } from './store.ts';

/**
 * What a person does at a shelf: lean, reach, take, inspect, stow or put back (here or
 * elsewhere, now or later), restock.
 */

/** Puts a hand's items into the basket (hand down beside the hip, then hanging). */
export function* stowHand(a: Agent, hand: 0 | 1, itemIds: string[]): Gen {
  const { body } = a;
  const sh = shoulderFromHead(body.head, body.heading, body.app, hand);
  yield* armTo(a, hand, restHand(sh, body.heading, body.app, hand, 0.05, 0.14), UPRIGHT, 350);
  a.ctx.world.stow(a.id, hand, itemIds);
  yield* armTo(a, hand, 'rest', UPRIGHT, 250);
}

/** Counts a pick made while someone else stands nearer the shelf in front of the same place. */
function countReachPast(a: Agent, p: PlateInfo): void {
  const mine = (a.body.x - p.front[0]) * p.normal[0] + (a.body.y - p.front[1]) * p.normal[1];
  const myAlong = (a.body.x - p.front[0]) * p.along[0] + (a.body.y - p.front[1]) * p.along[1];
  for (const o of a.ctx.agents) {
    if (o === a || !o.person.inStore) continue;
    const n = (o.body.x - p.front[0]) * p.normal[0] + (o.body.y - p.front[1]) * p.normal[1];
    const al = (o.body.x - p.front[0]) * p.along[0] + (o.body.y - p.front[1]) * p.along[1];
    if (n > 0 && n < mine && Math.abs(al - myAlong) < 0.7) {
      a.ctx.stats.reachPast += 1;
      return;
    }
  }
}

/** A plate to put an item on by mistake: a weight twin, or any other nearby plate; reachable ones first. */
function misplacedPlate(a: Agent, sku: string, from: PlateInfo): { plate: PlateInfo; twin: boolean } | null {
  const { store } = a.ctx;
  const b = a.ctx.scenario.behaviour;
  const preferReachable = (list: PlateInfo[]) => {
    const near = list.filter((q) => reachFromHere(a, q) !== null);
    if (near.length > 0) return a.rng.pick(near);
    let best = list[0]!;
    for (const q of list) if (a.distTo(standingSpot(q, 0.45)) < a.distTo(standingSpot(best, 0.45))) best = q;
    return best;
  };
  const twins = store.twins(sku).filter((q) => q.id !== from.id);
  if (twins.length > 0 && a.rng.chance(b.misplacedOnTwinProbability))
    return { plate: preferReachable(twins), twin: true };
  const nearby = store.nearby(from.id, sku);
  return nearby.length > 0 ? { plate: preferReachable(nearby), twin: false } : null;
}

/** Puts items held in `hand` on a plate, walking there first if it is out of reach. False if it could not. */
export function* putOn(a: Agent, hand: 0 | 1, itemIds: string[], q: PlateInfo): Gen<boolean> {
  const { ctx } = a;
  let r = reachFromHere(a, q, hand);
  if (!r && !reachFromHere(a, q)) {
    const spot = yield* claimSpot(a, q);
    if (!spot) return false;
  }
  yield* turnTo(a, q.faceHeadingRad);
  r = reachFromHere(a, q, hand);
  let h = hand;
  if (!r) {
    // Reachable only with the other hand: swap the items over through the basket.
    h = hand === 0 ? 1 : 0;
    r = reachFromHere(a, q, h);
    if (!r) return false;
    ctx.world.stow(a.id, hand, itemIds);
    ctx.world.unstow(a.id, h, itemIds);
  }
  yield* armTo(a, h, r.target, r.plan.bend, a.rng.range(500, 1000));
  const sku = a.person.hands[h].holding.find((i) => i.itemId === itemIds[0])?.sku;
  ctx.world.put(a.id, h, q.id, itemIds, ctx.now);
  ctx.stats.putbacks += 1;
  if (sku && q.sku !== sku) {
    ctx.stats.misplaced += 1;
    if (ctx.store.twins(sku).includes(q)) ctx.stats.misplacedOnTwin += 1;
  }
  yield* armTo(a, h, 'rest', UPRIGHT, a.rng.range(500, 1000));
  return true;
}

/** Leans on a plate for a moment with a hand: its force shows on the plate's load. */
function* lean(a: Agent, p: PlateInfo, plan: ReachPlan): Gen {
  const r = reachFromHere(a, p, plan.hand, 0.02, 0.06);
  if (!r) return;
  const hand = a.person.hands[plan.hand];
  yield* armTo(a, plan.hand, r.target, r.plan.bend, a.rng.range(500, 900));
  hand.onPlateId = p.id;
  hand.pressG = Math.round(a.rng.range(300, 2000));
  a.ctx.stats.leans += 1;
  yield* waitMs(a, a.rng.range(1000, 3000));
  hand.pressG = 0;
  hand.onPlateId = null;
}

/** Picks from a plate: spot, (lean), reach, take, retract, (inspect), then stow or put back. */
export function* pickAt(a: Agent, plateId: string, stopIndex: number): Gen {
  const { ctx, rng } = a;
  const { world, stats } = ctx;
  const b = ctx.scenario.behaviour;
  const p = ctx.store.plateInfo(plateId);
  // An empty plate: go and see, then move on.
  if (world.plate(plateId).items.length === 0) return yield* standNear(a, plateId);
  const spot = yield* claimSpot(a, p);
  if (!spot) return;
  yield* turnTo(a, p.faceHeadingRad);
  const r = reachFromHere(a, p);
  if (!r || world.plate(plateId).items.length === 0) {
    a.claim = null;
    return;
  }
  const h = r.plan.hand;
  // A look at the shelf before reaching.
  yield* waitMs(a, rng.range(500, 4000));
  if (rng.chance(b.leanProbability)) yield* lean(a, p, r.plan);
  yield* armTo(a, h, r.target, r.plan.bend, rng.range(500, 1000));
  const hand = a.person.hands[h];
  hand.onPlateId = plateId;
  yield* waitMs(a, rng.range(150, 400));
  const available = world.plate(plateId).items.length;
  let ids: string[] = [];
  if (available > 0) {
    const want = rng.chance(b.multiPickProbability) ? rng.int(2, 4) : 1;
    const q = Math.min(want, available);
    ids = world.take(a.id, h, plateId, q, ctx.now).map((i) => i.itemId);
    stats.picks += 1;
    if (q > 1) stats.multiPicks += 1;
    countReachPast(a, p);
  }
  yield* waitMs(a, 100);
  hand.onPlateId = null;
  yield* armTo(a, h, 'rest', UPRIGHT, rng.range(500, 1000));
  if (ids.length > 0) {
    if (rng.chance(b.inspectProbability)) {
      stats.inspects += 1;
      yield* armTo(
        a,
        h,
        chestPoint(a.body.head, a.body.heading, a.body.app, h),
        UPRIGHT,
        rng.range(400, 700),
      );
      yield* waitMs(a, rng.range(1000, 3000));
      yield* armTo(a, h, 'rest', UPRIGHT, rng.range(400, 700));
    }
    yield* afterPick(a, h, ids, p, stopIndex);
  }
  a.claim = null;
}

/** Keep the item, put it back now (here or on a wrong plate), or decide to put it back later. */
function* afterPick(a: Agent, h: 0 | 1, ids: string[], p: PlateInfo, stopIndex: number): Gen {
  const { ctx, rng } = a;
  const b = ctx.scenario.behaviour;
  const sku = a.person.hands[h].holding.find((i) => i.itemId === ids[0])!.sku;
  if (rng.chance(b.putBackProbability)) {
    const wrong = rng.chance(b.misplacedProbability) ? misplacedPlate(a, sku, p) : null;
    const target = wrong?.plate ?? p;
    const stops = a.party.stops.length;
    if (rng.chance(0.35)) {
      yield* stowHand(a, h, ids);
      for (const id of ids) a.reserved.add(id);
      a.later.push({
        dueStop: rng.int(stopIndex + 1, stops),
        task: { kind: 'return', plateId: target.id, itemIds: ids },
      });
      ctx.stats.deferredPutbacks += 1;
      return;
    }
    if (yield* putOn(a, h, ids, target)) return;
    if (target !== p && (yield* putOn(a, h, ids, p))) return;
    yield* stowHand(a, h, ids);
    return;
  }
  yield* stowHand(a, h, ids);
  if (a.party.members.length > 1 && rng.chance(b.handoffProbability))
    a.party.handoffs.push({ from: a, itemIds: ids, stop: stopIndex });
}

/** A put-back decided earlier: go to the plate, take the items out of the basket, put them down. */
export function* returnItems(a: Agent, plateId: string, itemIds: string[]): Gen {
  const { world } = a.ctx;
  const have = new Set(a.person.basket.map((i) => i.itemId));
  const ids = itemIds.filter((id) => have.has(id));
  for (const id of itemIds) a.reserved.delete(id);
  if (ids.length === 0) return;
  const q = a.ctx.store.plateInfo(plateId);
  try {
    if (!reachFromHere(a, q) && !(yield* claimSpot(a, q))) return;
    yield* turnTo(a, q.faceHeadingRad);
    const r = reachFromHere(a, q);
    if (!r) return;
    world.unstow(a.id, r.plan.hand, ids);
    if (!(yield* putOn(a, r.plan.hand, ids, q))) yield* stowHand(a, r.plan.hand, ids);
  } finally {
    a.claim = null;
  }
}

/** Staff: fills a plate back up to its planogram capacity from the basket, a few units per reach. */
export function* restockAt(a: Agent, plateId: string, sku: string): Gen {
  const { ctx } = a;
  const p = ctx.store.plateInfo(plateId);
  if (!a.person.basket.some((i) => i.sku === sku)) return;
  const spot = yield* claimSpot(a, p);
  if (!spot) return;
  yield* turnTo(a, p.faceHeadingRad);
  for (;;) {
    const need = p.capacityUnits - ctx.world.plate(plateId).items.length;
    const units = a.person.basket.filter((i) => i.sku === sku);
    if (need <= 0 || units.length === 0) break;
    const r = reachFromHere(a, p);
    if (!r) break;
    const ids = units.slice(0, Math.min(4, need)).map((i) => i.itemId);
    ctx.world.unstow(a.id, r.plan.hand, ids);
    yield* armTo(a, r.plan.hand, r.target, r.plan.bend, a.rng.range(500, 900));
    ctx.world.put(a.id, r.plan.hand, plateId, ids, ctx.now, 'restock');
    ctx.stats.restocks += 1;
    yield* armTo(a, r.plan.hand, 'rest', UPRIGHT, a.rng.range(400, 700));
  }
  a.claim = null;
}
