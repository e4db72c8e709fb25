import type { Vec2 } from '../../proto/index.ts';
import { type Agent, type Gen, turnTo, waitMs, walkTo } from './agent.ts';
import { len, solveReach } from './pose.ts';
import { handTarget, type PlateInfo, standingSpot } from './store.ts';

/**
 * Where to stand at a shelf: a free spot in front of the plate (or behind someone, reaching past
 * them), queueing nearby while the shelf is crowded, giving up after a while.
 */

/** Two people never plan to stand closer than this. */
const SPOT_SPACING_M = 0.45;
/** Along the shelf from the plate's centre: the outer ones stand before a neighbour and reach across. */
const FRONT_OFFSETS = [-0.68, -0.45, -0.22, 0, 0.22, 0.45, 0.68];
const BEHIND_OFFSETS = [-0.35, 0.35];
const SPOT_WAIT_MS = 30000;

interface Spot {
  stand: Vec2;
  behind: boolean;
}

export function spotTaken(a: Agent, s: Vec2, spacing = SPOT_SPACING_M): boolean {
  for (const o of a.ctx.agents) {
    if (o === a || !o.person.present) continue;
    if (len(o.body.x - s[0], o.body.y - s[1]) < spacing) return true;
    if (o.claim && len(o.claim[0] - s[0], o.claim[1] - s[1]) < spacing) return true;
  }
  return false;
}

/** The best free spot in front of a plate (or behind someone, reaching past) from which the plate is in reach. */
export function chooseSpot(a: Agent, p: PlateInfo): Spot | null {
  const { rng, body } = a;
  const grid = a.ctx.store.plan;
  let best: Spot | null = null;
  let bestScore = Number.POSITIVE_INFINITY;
  const consider = (offset: number, dist: number, behind: boolean) => {
    const stand = standingSpot(p, dist, offset + rng.range(-0.05, 0.05));
    if (!grid.isFree(stand[0], stand[1]) || spotTaken(a, stand)) return;
    if (!solveReach(stand[0], stand[1], p.faceHeadingRad, body.app, handTarget(p, stand))) return;
    const score = 0.25 * a.distTo(stand) + (behind ? 0.5 : 0) + rng.next() * 0.4;
    if (score < bestScore) {
      bestScore = score;
      best = { stand, behind };
    }
  };
  for (const off of FRONT_OFFSETS) consider(off, rng.range(0.35, 0.5), false);
  for (const off of BEHIND_OFFSETS) consider(off, 0.72, true);
  return best;
}

/** Gets to a spot at a plate, waiting nearby while the shelf is crowded; null when it gave up. */
export function* claimSpot(a: Agent, p: PlateInfo): Gen<Spot | null> {
  const { ctx } = a;
  const deadline = ctx.now + SPOT_WAIT_MS;
  let waited = false;
  for (let tries = 0; tries < 6; ) {
    const spot = chooseSpot(a, p);
    if (spot) {
      tries += 1;
      a.claim = spot.stand;
      if (!(yield* walkTo(a, spot.stand))) break;
      if (!spotTaken(a, [a.body.x, a.body.y], 0.3)) return spot;
      continue;
    }
    if (ctx.now > deadline) break;
    if (!waited) {
      waited = true;
      yield* approach(a, p, 0.9, 1.6, 1.2);
    }
    yield* waitMs(a, 500);
  }
  a.claim = null;
  ctx.stats.gaveUp += 1;
  return null;
}

/** A free place a little way back from a plate (to wait, or to look on), or null if the shelf is crowded. */
function nearSpot(a: Agent, p: PlateInfo, minOffM: number, maxOffM: number, alongM: number): Vec2 | null {
  for (let i = 0; i < 12; i++) {
    const s = standingSpot(p, a.rng.range(minOffM, maxOffM), a.rng.range(-alongM, alongM));
    if (a.ctx.store.plan.isFree(s[0], s[1]) && !spotTaken(a, s)) return s;
  }
  return null;
}

/**
 * Goes to stand a little way back from a plate. If the shelf is too crowded for that, stays put
 * (a crowd at the mouth of an aisle would block it). True when standing there.
 */
function* approach(a: Agent, p: PlateInfo, minOffM: number, maxOffM: number, alongM: number): Gen<boolean> {
  const s = nearSpot(a, p, minOffM, maxOffM, alongM);
  if (!s) return false;
  a.claim = s;
  return yield* walkTo(a, s, { timeoutMs: 20000 });
}

/** Reach plan for a plate from where the person stands now (facing the plate's shelf), for a given hand if set. */
export function reachFromHere(a: Agent, p: PlateInfo, hand?: 0 | 1, lift = 0.05, into = 0.12) {
  const target = handTarget(p, [a.body.x, a.body.y], lift, into);
  const plan = solveReach(a.body.x, a.body.y, p.faceHeadingRad, a.body.app, target, hand);
  return plan ? { plan, target } : null;
}

/** Stands by near a plate for a moment (a group member who is not picking here, or a look at an empty plate). */
export function* standNear(a: Agent, plateId: string): Gen {
  const p = a.ctx.store.plateInfo(plateId);
  if (yield* approach(a, p, 0.8, 1.4, 1.5)) yield* turnTo(a, p.faceHeadingRad);
  yield* waitMs(a, a.rng.range(1000, 3000));
  a.claim = null;
}
