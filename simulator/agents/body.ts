import type { Vec2, Vec3 } from '../../proto/index.ts';
import type { Person, PersonAppearance } from '../world/types.ts';
import { avoid } from './avoid.ts';
import { type GateLine, gateAlong, gateSide, type NavGrid } from './nav.ts';
import {
  angleDiff,
  type Bend,
  clampReach,
  headPoint,
  len,
  lerp3,
  lerpBend,
  restHand,
  shoulderFromHead,
  smoothstep,
  UPRIGHT,
} from './pose.ts';

export type Arm =
  | { mode: 'rest' }
  | { mode: 'hold'; at: Vec3 }
  | {
      mode: 'move';
      from: Vec3;
      to: Vec3;
      toRest: boolean;
      bendFrom: Bend;
      bendTo: Bend;
      t0: number;
      durMs: number;
    };

export interface CrossWatch {
  gate: GateLine;
  side: number;
  onCross: (tsMs: number) => void;
}

const TURN_RATE = 6;
const SWING_M = 0.16;
/** Stuck this long, a walker squeezes through the people in the way. */
export const GHOST_AFTER_MS = 7000;

/** The physical state of one person: where the body is, how it moves, and where its hands are. */
export class Body {
  heading: number;
  bend: Bend = UPRIGHT;
  readonly arms: [Arm, Arm] = [{ mode: 'rest' }, { mode: 'rest' }];
  readonly hands: [Vec3, Vec3] = [
    [0, 0, 0],
    [0, 0, 0],
  ];
  path: Vec2[] | null = null;
  private pathI = 0;
  /** Walk through other people until then (a way out of a jam). */
  ghostUntilMs = 0;
  /** Walk off the grid (outside the store's walls). */
  free = false;
  /** The grid paths were planned on: corners are cut only where it sees clear. */
  sight: NavGrid | null = null;
  /** Close to a waypoint, the planning grid is enough. */
  sightNear: NavGrid | null = null;
  /** Walking through a gate: gate lines are open to this body until it is well past this one. */
  passing: { gate: GateLine; towards: 1 | -1 } | null = null;
  faceHeading: number | null = null;
  /** How long the walker has made no progress towards its waypoint. */
  stuckMs = 0;
  private bestDist = Number.POSITIVE_INFINITY;
  vx = 0;
  vy = 0;
  /** Direction of the path being walked (unit). */
  private ux = 1;
  private uy = 0;
  private swingPhase = 0;
  watch: CrossWatch | null = null;
  /** When set, walk straight towards wherever this says each step. */
  follow: (() => Vec2 | null) | null = null;
  speedMps: number;
  head: Vec3 = [0, 0, 0];
  private nowMs = 0;

  constructor(
    public x: number,
    public y: number,
    heading: number,
    speedMps: number,
    readonly app: PersonAppearance,
  ) {
    this.heading = heading;
    this.speedMps = speedMps;
    this.pose(0);
  }

  get walking(): boolean {
    return this.path !== null || this.follow !== null;
  }

  armsIdle(): boolean {
    return this.arms[0].mode !== 'move' && this.arms[1].mode !== 'move';
  }

  armsAtRest(): boolean {
    return this.arms[0].mode === 'rest' && this.arms[1].mode === 'rest';
  }

  /** Follows a new path; `keepStuck` keeps counting time without progress (a re-plan around a jam). */
  setPath(path: Vec2[], keepStuck = false): void {
    this.path = path.length > 0 ? path : null;
    this.pathI = 0;
    if (!keepStuck) this.stuckMs = 0;
    this.bestDist = path[0] ? len(path[0][0] - this.x, path[0][1] - this.y) : 0;
  }

  stop(): void {
    this.path = null;
    this.follow = null;
    this.vx = 0;
    this.vy = 0;
  }

  /** Starts moving a hand to a point (or back to hanging) over `durMs`, bending as it goes. */
  moveArm(hand: 0 | 1, to: Vec3 | 'rest', bendTo: Bend, nowMs: number, durMs: number): void {
    const from = this.hands[hand];
    let target: Vec3;
    if (to === 'rest') {
      const head = headPoint(this.x, this.y, this.heading, this.app, bendTo);
      target = restHand(shoulderFromHead(head, this.heading, this.app, hand), this.heading, this.app, hand);
    } else target = to;
    this.arms[hand] = {
      mode: 'move',
      from,
      to: target,
      toRest: to === 'rest',
      bendFrom: this.bend,
      bendTo,
      t0: nowMs,
      durMs: Math.max(1, durMs),
    };
  }

  update(nowMs: number, dtMs: number, others: readonly Body[], grid: NavGrid): void {
    this.nowMs = nowMs;
    for (const h of [0, 1] as const) {
      const arm = this.arms[h];
      if (arm.mode !== 'move') continue;
      const t = (nowMs - arm.t0) / arm.durMs;
      this.bend = lerpBend(arm.bendFrom, arm.bendTo, smoothstep(t));
      if (t >= 1) {
        this.bend = arm.bendTo;
        this.arms[h] = arm.toRest ? { mode: 'rest' } : { mode: 'hold', at: arm.to };
      }
    }
    let moved = 0;
    if (this.follow) {
      const target = this.follow();
      if (target && len(target[0] - this.x, target[1] - this.y) > 0.03) this.setPathKeep([target]);
      else this.path = null;
    }
    if (this.path) moved = this.walk(nowMs, dtMs, others, grid);
    else {
      this.vx = 0;
      this.vy = 0;
    }
    if (this.passing && gateSide(this.passing.gate, this.x, this.y) * this.passing.towards > 0.35)
      this.passing = null;
    if (this.watch) {
      const s = gateSide(this.watch.gate, this.x, this.y);
      const along = gateAlong(this.watch.gate, this.x, this.y);
      if (s > 0 !== this.watch.side > 0 && along > -0.1 && along < this.watch.gate.widthM + 0.1) {
        const w = this.watch;
        this.watch = null;
        w.onCross(nowMs);
      } else this.watch.side = s;
    }
    let want: number | null = null;
    // Face the way we walk; when pushed aside or back, keep facing along the path.
    if (moved > 0.002)
      want =
        this.vx * this.ux + this.vy * this.uy > 0
          ? Math.atan2(this.vy, this.vx)
          : Math.atan2(this.uy, this.ux);
    else if (this.faceHeading !== null && this.armsAtRest()) want = this.faceHeading;
    if (want !== null) {
      const d = angleDiff(this.heading, want);
      const maxTurn = (TURN_RATE * dtMs) / 1000;
      this.heading += Math.max(-maxTurn, Math.min(maxTurn, d));
    }
    this.swingPhase += (moved / 0.75) * Math.PI;
    this.pose(len(this.vx, this.vy));
  }

  private setPathKeep(path: Vec2[]): void {
    this.path = path;
    this.pathI = 0;
  }

  /** One step along the path with simple local avoidance; returns the distance moved. */
  private walk(nowMs: number, dtMs: number, others: readonly Body[], grid: NavGrid): number {
    const path = this.path!;
    const dt = dtMs / 1000;
    let wp = path[this.pathI]!;
    let dx = wp[0] - this.x;
    let dy = wp[1] - this.y;
    let d = len(dx, dy);
    while (d < 0.15 && this.pathI < path.length - 1) {
      this.pathI += 1;
      wp = path[this.pathI]!;
      dx = wp[0] - this.x;
      dy = wp[1] - this.y;
      d = len(dx, dy);
      this.bestDist = d;
      this.stuckMs = 0;
    }
    // Cut the corner: near a waypoint, head for the next one if it is in plain sight.
    if (this.pathI < path.length - 1 && d < 0.6 && !this.follow) {
      const next = path[this.pathI + 1]!;
      const clear = (g: NavGrid | null) => g?.lineFree(this.x, this.y, next[0], next[1]) ?? false;
      if (clear(this.sight) || (d < 0.3 && clear(this.sightNear))) {
        this.pathI += 1;
        wp = next;
        dx = wp[0] - this.x;
        dy = wp[1] - this.y;
        d = len(dx, dy);
        this.bestDist = d;
        this.stuckMs = 0;
      }
    }
    const last = this.pathI === path.length - 1;
    if (last && d < 0.04) {
      this.path = null;
      this.vx = 0;
      this.vy = 0;
      return 0;
    }
    const ux = dx / d;
    const uy = dy / d;
    this.ux = ux;
    this.uy = uy;
    const speed = this.speedMps;
    let sp = speed;
    if (last) sp = this.follow ? Math.min(sp, d / dt) : Math.min(sp, Math.max(0.25, d * 2.5), d / dt);
    let vx = ux * sp;
    let vy = uy * sp;
    if (nowMs >= this.ghostUntilMs && !this.follow) {
      const v = avoid(this, others, grid, ux, uy, sp, last && d < 0.7);
      vx = v[0];
      vy = v[1];
    }
    let nx = this.x + vx * dt;
    let ny = this.y + vy * dt;
    // Off the grid (pushed there, or back from a scripted walk): any move is allowed until back on it.
    if (!this.free && grid.isFree(this.x, this.y) && !grid.isFree(nx, ny)) {
      if (grid.isFree(nx, this.y)) ny = this.y;
      else if (grid.isFree(this.x, ny)) nx = this.x;
      else {
        nx = this.x;
        ny = this.y;
      }
    }
    const moved = len(nx - this.x, ny - this.y);
    this.vx = (nx - this.x) / dt;
    this.vy = (ny - this.y) / dt;
    this.x = nx;
    this.y = ny;
    const remaining = len(wp[0] - nx, wp[1] - ny);
    if (remaining < this.bestDist - 0.05) {
      this.bestDist = remaining;
      this.stuckMs = 0;
    } else {
      this.stuckMs += dtMs;
      // The last resort against a jam: squeeze through people for a moment.
      if (this.stuckMs > GHOST_AFTER_MS && nowMs >= this.ghostUntilMs) this.ghostUntilMs = nowMs + 1500;
    }
    return moved;
  }

  private pose(speed: number): void {
    const walkK = Math.min(1, speed);
    const bob = 0.015 * (Math.abs(Math.sin(this.swingPhase)) - 0.5) * walkK;
    const head = headPoint(this.x, this.y, this.heading, this.app, this.bend, bob);
    this.head = head;
    for (const h of [0, 1] as const) {
      const sh = shoulderFromHead(head, this.heading, this.app, h);
      const arm = this.arms[h];
      let p: Vec3;
      if (arm.mode === 'rest') {
        const swing = (h === 0 ? 1 : -1) * SWING_M * walkK * Math.sin(this.swingPhase);
        p = restHand(sh, this.heading, this.app, h, swing);
      } else if (arm.mode === 'hold') p = arm.at;
      else p = lerp3(arm.from, arm.to, smoothstep((this.nowMs - arm.t0) / arm.durMs));
      this.hands[h] = clampReach(p, sh);
    }
  }

  /** Writes the pose into the world's person record. */
  writePose(person: Person): void {
    person.posM = [this.x, this.y];
    person.headingRad = this.heading;
    person.headM = this.head;
    person.hands[0].posM = this.hands[0];
    person.hands[1].posM = this.hands[1];
  }
}
