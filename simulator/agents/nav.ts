import { type Gate, insidePolygon, type StoreLayout, type Vec2 } from '../../proto/index.ts';
import { AStar } from './astar.ts';
import { len } from './pose.ts';

/**
 * Walking geometry: an occupancy grid of the sales floor minus fixtures (inflated by a clearance),
 * A* with line-of-sight smoothing, and the gate lines. The line through the entry gate is treated
 * as a barrier between the vestibule and the store whose only openings are the gates, and those
 * are open only on a grid built with `gatesOpen` (used by someone walking through a gate): planned
 * paths never cross a gate line, crossings are scripted walks.
 */

export interface GateLine {
  id: string;
  kind: 'entry' | 'exit';
  a: Vec2;
  mid: Vec2;
  /** Unit vector a → b. */
  dir: Vec2;
  /** Unit vector pointing into the store (left of a → b). */
  inward: Vec2;
  widthM: number;
}

export function gateLine(g: Gate): GateLine {
  const [a, b] = g.lineM;
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length = len(dx, dy);
  const dir: Vec2 = [dx / length, dy / length];
  return {
    id: g.id,
    kind: g.kind,
    a,
    mid: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2],
    dir,
    inward: [-dir[1], dir[0]],
    widthM: length,
  };
}

/** Signed distance from a gate's line: positive on the store side. */
export function gateSide(g: GateLine, x: number, y: number): number {
  return (x - g.a[0]) * g.inward[0] + (y - g.a[1]) * g.inward[1];
}

/** Position along a gate's line from its first end, metres. */
export function gateAlong(g: GateLine, x: number, y: number): number {
  return (x - g.a[0]) * g.dir[0] + (y - g.a[1]) * g.dir[1];
}

/** A point relative to a gate: `along` from the middle of the line, `inward` into the store. */
export function gatePoint(g: GateLine, along: number, inward: number): Vec2 {
  return [
    g.mid[0] + g.dir[0] * along + g.inward[0] * inward,
    g.mid[1] + g.dir[1] * along + g.inward[1] * inward,
  ];
}

function segmentDistance(x: number, y: number, a: Vec2, b: Vec2): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const l2 = dx * dx + dy * dy;
  const t = l2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / l2));
  return len(x - a[0] - t * dx, y - a[1] - t * dy);
}

/** Half the width of a torso: a gate opening is usable this far inside its posts. */
const GATE_POST_MARGIN_M = 0.2;

export class NavGrid {
  readonly x0: number;
  readonly y0: number;
  readonly nx: number;
  readonly ny: number;
  readonly blocked: Uint8Array;
  private readonly cache = new Map<number, Vec2[]>();
  private readonly search: AStar;

  constructor(
    layout: StoreLayout,
    readonly clearanceM: number,
    gatesOpen: boolean,
    readonly cellM = 0.1,
  ) {
    const xs = layout.floorPolygonM.map((p) => p[0]);
    const ys = layout.floorPolygonM.map((p) => p[1]);
    this.x0 = Math.min(...xs);
    this.y0 = Math.min(...ys);
    this.nx = Math.ceil((Math.max(...xs) - this.x0) / cellM);
    this.ny = Math.ceil((Math.max(...ys) - this.y0) / cellM);
    const n = this.nx * this.ny;
    this.blocked = new Uint8Array(n);
    this.search = new AStar(this.nx, this.ny);
    const poly = layout.floorPolygonM;
    const gates = layout.gates.map(gateLine);
    const barrier = gates.find((g) => g.kind === 'entry');
    const openings = barrier
      ? gates.filter(
          (g) =>
            Math.abs(gateSide(barrier, g.a[0], g.a[1])) < 1e-6 &&
            Math.abs(gateSide(barrier, g.a[0] + g.dir[0], g.a[1] + g.dir[1])) < 1e-6,
        )
      : [];
    for (let j = 0; j < this.ny; j++) {
      for (let i = 0; i < this.nx; i++) {
        const x = this.x0 + (i + 0.5) * cellM;
        const y = this.y0 + (j + 0.5) * cellM;
        let block = !insidePolygon(poly, x, y);
        for (let k = 0; !block && k < poly.length; k++) {
          if (segmentDistance(x, y, poly[k]!, poly[(k + 1) % poly.length]!) < clearanceM) block = true;
        }
        for (const f of layout.fixtures) {
          if (block) break;
          const dx = Math.max(f.box.minM[0] - x, 0, x - f.box.maxM[0]);
          const dy = Math.max(f.box.minM[1] - y, 0, y - f.box.maxM[1]);
          if (len(dx, dy) < clearanceM) block = true;
        }
        if (!block && barrier && Math.abs(gateSide(barrier, x, y)) < clearanceM) {
          const open =
            gatesOpen &&
            openings.some((g) => {
              const t = gateAlong(g, x, y);
              return t >= GATE_POST_MARGIN_M - 1e-9 && t <= g.widthM - GATE_POST_MARGIN_M + 1e-9;
            });
          if (!open) block = true;
        }
        this.blocked[j * this.nx + i] = block ? 1 : 0;
      }
    }
  }

  cellOf(x: number, y: number): number {
    const i = Math.floor((x - this.x0) / this.cellM);
    const j = Math.floor((y - this.y0) / this.cellM);
    if (i < 0 || j < 0 || i >= this.nx || j >= this.ny) return -1;
    return j * this.nx + i;
  }

  centreOf(c: number): Vec2 {
    return [
      this.x0 + ((c % this.nx) + 0.5) * this.cellM,
      this.y0 + (Math.floor(c / this.nx) + 0.5) * this.cellM,
    ];
  }

  isFree(x: number, y: number): boolean {
    const c = this.cellOf(x, y);
    return c >= 0 && this.blocked[c] === 0;
  }

  /** Every sample along the segment is free (half-cell steps). */
  lineFree(ax: number, ay: number, bx: number, by: number): boolean {
    const length = len(bx - ax, by - ay);
    const steps = Math.max(1, Math.ceil(length / (this.cellM * 0.5)));
    for (let s = 0; s <= steps; s++) {
      const t = s / steps;
      if (!this.isFree(ax + (bx - ax) * t, ay + (by - ay) * t)) return false;
    }
    return true;
  }

  /** The free cell nearest a point (ring search), or -1. */
  nearestFreeCell(x: number, y: number, maxRings = 30): number {
    const ci = Math.min(this.nx - 1, Math.max(0, Math.floor((x - this.x0) / this.cellM)));
    const cj = Math.min(this.ny - 1, Math.max(0, Math.floor((y - this.y0) / this.cellM)));
    let best = -1;
    let bestD = Number.POSITIVE_INFINITY;
    for (let r = 0; r <= maxRings; r++) {
      for (let j = cj - r; j <= cj + r; j++) {
        for (let i = ci - r; i <= ci + r; i++) {
          if (Math.max(Math.abs(i - ci), Math.abs(j - cj)) !== r) continue;
          if (i < 0 || j < 0 || i >= this.nx || j >= this.ny) continue;
          const c = j * this.nx + i;
          if (this.blocked[c]) continue;
          const [px, py] = this.centreOf(c);
          const d = (px - x) ** 2 + (py - y) ** 2;
          if (d < bestD) {
            bestD = d;
            best = c;
          }
        }
      }
      if (best >= 0) return best;
    }
    return -1;
  }

  nearestFree(x: number, y: number): Vec2 | null {
    if (this.isFree(x, y)) return [x, y];
    const c = this.nearestFreeCell(x, y);
    return c < 0 ? null : this.centreOf(c);
  }

  /**
   * Waypoints from a point to a goal (the start excluded, the goal last), or null when the goal
   * cannot be reached. A straight line is used when it is clear; otherwise A* on the grid,
   * smoothed by line of sight, cached per (start cell, goal cell).
   */
  findPath(from: Vec2, to: Vec2, avoid?: readonly Vec2[], avoidRadiusM = 0.35): Vec2[] | null {
    if (avoid && avoid.length > 0) {
      const stamped = this.stamp2(avoid, avoidRadiusM, from, to);
      try {
        return this.findPathCached(from, to, false);
      } finally {
        for (const c of stamped) this.blocked[c] = 0;
      }
    }
    return this.findPathCached(from, to, true);
  }

  /** Blocks the cells around some points (people standing), leaving the start and goal open; returns the cells. */
  private stamp2(points: readonly Vec2[], radiusM: number, from: Vec2, to: Vec2): number[] {
    const out: number[] = [];
    const r = Math.ceil(radiusM / this.cellM);
    const keep = [this.cellOf(from[0], from[1]), this.cellOf(to[0], to[1])];
    for (const [px, py] of points) {
      const ci = Math.floor((px - this.x0) / this.cellM);
      const cj = Math.floor((py - this.y0) / this.cellM);
      for (let j = cj - r; j <= cj + r; j++) {
        for (let i = ci - r; i <= ci + r; i++) {
          if (i < 0 || j < 0 || i >= this.nx || j >= this.ny) continue;
          const c = j * this.nx + i;
          if (this.blocked[c] || keep.includes(c)) continue;
          const [x, y] = this.centreOf(c);
          if (len(x - px, y - py) > radiusM) continue;
          this.blocked[c] = 2;
          out.push(c);
        }
      }
    }
    return out;
  }

  /** A* searches run so far (for the speed report). */
  get searches(): number {
    return this.search.searches;
  }

  private findPathCached(from: Vec2, to: Vec2, useCache: boolean): Vec2[] | null {
    const [sx, sy] = from;
    const startFree = this.isFree(sx, sy);
    const goal = this.nearestFree(to[0], to[1]);
    if (!goal) return null;
    if (startFree && this.lineFree(sx, sy, goal[0], goal[1])) return [goal];
    const s = startFree ? this.cellOf(sx, sy) : this.nearestFreeCell(sx, sy);
    const gc = this.cellOf(goal[0], goal[1]);
    if (s < 0 || gc < 0) return null;
    const key = s * this.blocked.length + gc;
    let cells = useCache ? this.cache.get(key) : undefined;
    if (!cells) {
      const raw = this.search.run(this.blocked, s, gc);
      if (!raw) return null;
      cells = this.smooth(raw);
      if (useCache) {
        if (this.cache.size > 20000) this.cache.clear();
        this.cache.set(key, cells);
      }
    }
    // cells[0] is the start cell's centre, the last the goal cell's centre.
    const out = cells.slice(1, -1);
    const first = out[0] ?? goal;
    if (!startFree || !this.lineFree(sx, sy, first[0], first[1])) out.unshift(cells[0]!);
    const prev = out[out.length - 1] ?? (startFree ? from : cells[0]!);
    if (!this.lineFree(prev[0], prev[1], goal[0], goal[1])) out.push(cells[cells.length - 1]!);
    out.push(goal);
    return out;
  }

  private smooth(cells: number[]): Vec2[] {
    const pts = cells.map((c) => this.centreOf(c));
    const out: Vec2[] = [pts[0]!];
    let anchor = pts[0]!;
    for (let k = 1; k < pts.length - 1; k++) {
      const next = pts[k + 1]!;
      if (!this.lineFree(anchor[0], anchor[1], next[0], next[1])) {
        anchor = pts[k]!;
        out.push(anchor);
      }
    }
    if (pts.length > 1) out.push(pts[pts.length - 1]!);
    return out;
  }
}
