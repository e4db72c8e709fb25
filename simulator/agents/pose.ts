import type { Vec3 } from '../../proto/index.ts';
import type { Person, PersonAppearance } from '../world/types.ts';

/**
 * Body kinematics. Conventions: headingRad is counter-clockwise from +x (east), so 0 faces east and
 * π/2 faces north. hands[0] is the left hand, hands[1] the right. The shoulders follow the head:
 * bending forward or crouching moves the head, and the shoulders with it.
 */

/** Height of the head's centre and of the shoulders, as shares of body height, standing upright. */
export const HEAD_FRAC = 0.93;
export const SHOULDER_FRAC = 0.82;
/** A hand is never further than this from its shoulder. */
export const MAX_REACH_M = 0.75;
/** Reaches are planned within this, leaving a margin. */
export const PLAN_REACH_M = 0.7;
export const MAX_LEAN_M = 0.3;
/** A crouch lowers the head by at most this share of body height. */
export const MAX_DROP_FRAC = 0.5;

export interface Bend {
  /** Head moved forward along the heading. */
  leanM: number;
  /** Head lowered. */
  dropM: number;
}

export const UPRIGHT: Bend = { leanM: 0, dropM: 0 };

export function headPoint(
  x: number,
  y: number,
  heading: number,
  app: PersonAppearance,
  bend: Bend,
  bobM = 0,
): Vec3 {
  return [
    x + Math.cos(heading) * bend.leanM,
    y + Math.sin(heading) * bend.leanM,
    HEAD_FRAC * app.heightM - bend.dropM + bobM,
  ];
}

/** A shoulder's position given the head: beside it, one shoulder-width apart, lower by 11% of height. */
export function shoulderFromHead(head: Vec3, heading: number, app: PersonAppearance, hand: 0 | 1): Vec3 {
  const side = hand === 0 ? 1 : -1;
  const half = (app.shoulderWidthM / 2) * side;
  return [
    head[0] - Math.sin(heading) * half,
    head[1] + Math.cos(heading) * half,
    head[2] - (HEAD_FRAC - SHOULDER_FRAC) * app.heightM,
  ];
}

/** The shoulder of a person's hand as posed in the world (the one hand reach is measured from). */
export function shoulderM(person: Person, hand: 0 | 1): Vec3 {
  return shoulderFromHead(person.headM, person.headingRad, person.appearance, hand);
}

/** A hanging hand: below its shoulder, a little outward, swung forward or back by `swingM`. */
export function restHand(
  shoulder: Vec3,
  heading: number,
  app: PersonAppearance,
  hand: 0 | 1,
  swingM = 0,
  outwardM = 0.04,
): Vec3 {
  const side = hand === 0 ? 1 : -1;
  const c = Math.cos(heading);
  const s = Math.sin(heading);
  return [
    shoulder[0] - s * outwardM * side + c * swingM,
    shoulder[1] + c * outwardM * side + s * swingM,
    shoulder[2] - 0.36 * app.heightM,
  ];
}

/** Holding something up in front of the chest to look at it. */
export function chestPoint(head: Vec3, heading: number, app: PersonAppearance, hand: 0 | 1): Vec3 {
  const side = hand === 0 ? 0.06 : -0.06;
  return [
    head[0] + Math.cos(heading) * 0.3 - Math.sin(heading) * side,
    head[1] + Math.sin(heading) * 0.3 + Math.cos(heading) * side,
    head[2] - 0.25 * app.heightM,
  ];
}

export function dist3(a: Vec3, b: Vec3): number {
  const dx = a[0] - b[0];
  const dy = a[1] - b[1];
  const dz = a[2] - b[2];
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

/** Length of a 2-D vector (Math.hypot is much slower, and this is on every step's path). */
export function len(x: number, y: number): number {
  return Math.sqrt(x * x + y * y);
}

export interface ReachPlan {
  hand: 0 | 1;
  bend: Bend;
}

/**
 * How a person standing at (x, y) facing `heading` reaches a point: which hand, and how far to
 * crouch (for low shelves) and lean forward. Null when the point is out of reach from there.
 */
export function solveReach(
  x: number,
  y: number,
  heading: number,
  app: PersonAppearance,
  target: Vec3,
  hand?: 0 | 1,
  limitM = PLAN_REACH_M,
): ReachPlan | null {
  const upright = headPoint(x, y, heading, app, UPRIGHT);
  const order: (0 | 1)[] =
    hand !== undefined
      ? [hand]
      : dist3(shoulderFromHead(upright, heading, app, 0), target) <=
          dist3(shoulderFromHead(upright, heading, app, 1), target)
        ? [0, 1]
        : [1, 0];
  const drop = Math.max(
    0,
    Math.min(MAX_DROP_FRAC * app.heightM, SHOULDER_FRAC * app.heightM - (target[2] + 0.3)),
  );
  for (const h of order) {
    for (let lean = 0; lean <= MAX_LEAN_M + 1e-9; lean += 0.05) {
      const bend = { leanM: lean, dropM: drop };
      const sh = shoulderFromHead(headPoint(x, y, heading, app, bend), heading, app, h);
      if (dist3(sh, target) <= limitM) return { hand: h, bend };
    }
  }
  return null;
}

/** Pulls a hand back within reach of its shoulder (a guard; plans already stay within reach). */
export function clampReach(hand: Vec3, shoulder: Vec3, limitM = MAX_REACH_M): Vec3 {
  const d = dist3(hand, shoulder);
  if (d <= limitM) return hand;
  const k = limitM / d;
  return [
    shoulder[0] + (hand[0] - shoulder[0]) * k,
    shoulder[1] + (hand[1] - shoulder[1]) * k,
    shoulder[2] + (hand[2] - shoulder[2]) * k,
  ];
}

export function smoothstep(t: number): number {
  const u = Math.max(0, Math.min(1, t));
  return u * u * (3 - 2 * u);
}

export function lerp3(a: Vec3, b: Vec3, t: number): Vec3 {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

export function lerpBend(a: Bend, b: Bend, t: number): Bend {
  return { leanM: a.leanM + (b.leanM - a.leanM) * t, dropM: a.dropM + (b.dropM - a.dropM) * t };
}

export function angleDiff(a: number, b: number): number {
  let d = (b - a) % (2 * Math.PI);
  if (d > Math.PI) d -= 2 * Math.PI;
  if (d < -Math.PI) d += 2 * Math.PI;
  return d;
}
