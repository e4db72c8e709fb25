import { type CameraModel, insidePolygon, type Vec2 } from '../../proto/index.ts';
import { productAt, type Scene, type SceneBox, type SceneGroup } from './scene.ts';

/** What a camera sees of the empty store, and how far away it is (mm along the optical axis). */
export interface Background {
  width: number;
  height: number;
  rgb: Uint8Array;
  /** Per pixel, as a plain array: the renderer reads it per drawn pixel. */
  depthMm: number[];
}

const TILE_M = 0.5;
const GROUT_M = 0.012;
const GATE_HALF_WIDTH_M = 0.035;
const MARCH_M = 0.004;
const FACE_SHADE = [0.8, 0.7, 1] as const;

// Ray state shared by the helpers below, so the per-pixel loop allocates nothing.
let ox = 0;
let oy = 0;
let oz = 0;
let dx = 0;
let dy = 0;
let dz = 0;
let enterAxis = 0;
let exitT = 0;

let t0 = 0;
let t1 = 0;
let axis = 0;

function slabAxis(k: number, o: number, d: number, lo: number, hi: number): boolean {
  if (Math.abs(d) < 1e-12) return o >= lo && o <= hi;
  let a = (lo - o) / d;
  let b = (hi - o) / d;
  if (a > b) {
    const c = a;
    a = b;
    b = c;
  }
  if (a > t0) {
    t0 = a;
    axis = k;
  }
  if (b < t1) t1 = b;
  return t0 <= t1;
}

/** Slab test: the entry distance of the ray into the box, or Infinity. Sets enterAxis and exitT. */
function slab(min: readonly number[], max: readonly number[]): number {
  t0 = 0;
  t1 = Infinity;
  axis = 2;
  if (
    !slabAxis(0, ox, dx, min[0]!, max[0]!) ||
    !slabAxis(1, oy, dy, min[1]!, max[1]!) ||
    !slabAxis(2, oz, dz, min[2]!, max[2]!)
  ) {
    return Infinity;
  }
  enterAxis = axis;
  exitT = t1;
  return t0;
}

/** The first crossing, as a fraction of the way, of segment (ax,ay)→(bx,by) with the polygon's edges. */
function firstCrossing(poly: readonly Vec2[], ax: number, ay: number, bx: number, by: number): number {
  let best = 1;
  const rx = bx - ax;
  const ry = by - ay;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [px, py] = poly[j]!;
    const ex = poly[i]![0] - px;
    const ey = poly[i]![1] - py;
    const den = rx * ey - ry * ex;
    if (Math.abs(den) < 1e-12) continue;
    const s = ((px - ax) * ey - (py - ay) * ex) / den;
    const u = ((px - ax) * ry - (py - ay) * rx) / den;
    if (s > 0 && s < best && u >= 0 && u <= 1) best = s;
  }
  return best;
}

function segDist2(px: number, py: number, a: Vec2, b: Vec2): number {
  const ex = b[0] - a[0];
  const ey = b[1] - a[1];
  const len2 = ex * ex + ey * ey;
  const t = len2 > 0 ? Math.max(0, Math.min(1, ((px - a[0]) * ex + (py - a[1]) * ey) / len2)) : 0;
  const qx = a[0] + t * ex - px;
  const qy = a[1] + t * ey - py;
  return qx * qx + qy * qy;
}

function tileHash(seed: number, ix: number, iy: number): number {
  let h = Math.imul(seed ^ 0x27d4eb2d, 0x9e3779b1) ^ Math.imul(ix, 0x85ebca6b) ^ Math.imul(iy, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

/** Floor colour at a point inside the sales floor: tiles with grout lines, gate lines painted on. */
function floorColour(scene: Scene, x: number, y: number, out: number[]): void {
  for (const g of scene.gates) {
    if (segDist2(x, y, g.a, g.b) < GATE_HALF_WIDTH_M * GATE_HALF_WIDTH_M) {
      out[0] = g.colour[0];
      out[1] = g.colour[1];
      out[2] = g.colour[2];
      return;
    }
  }
  const ix = Math.floor(x / TILE_M);
  const iy = Math.floor(y / TILE_M);
  const fx = x - ix * TILE_M;
  const fy = y - iy * TILE_M;
  const grout = fx < GROUT_M || fy < GROUT_M;
  const jitter = grout ? -26 : (tileHash(scene.seed, ix, iy) % 11) - 5;
  out[0] = 200 + jitter;
  out[1] = 196 + jitter;
  out[2] = 186 + jitter;
}

/** Ray casts every pixel once: the floor and walls, then the fixtures, shelves and stocked products. */
export function renderBackground(m: CameraModel, scene: Scene): Background {
  const { width, height } = m;
  const rgb = new Uint8Array(width * height * 3);
  const depthMm: number[] = new Array(width * height).fill(0);
  const r = m.rWorldToCam;
  const col = [0, 0, 0];
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      // pixelRay(m, px + 0.5, py + 0.5), without allocating.
      const xc = (px + 0.5 - m.cxPx) / m.fxPx;
      const yc = (py + 0.5 - m.cyPx) / m.fyPx;
      dx = r[0]! * xc + r[3]! * yc + r[6]!;
      dy = r[1]! * xc + r[4]! * yc + r[7]!;
      dz = r[2]! * xc + r[5]! * yc + r[8]!;
      const norm = Math.hypot(dx, dy, dz);
      dx /= norm;
      dy /= norm;
      dz /= norm;
      ox = m.positionM[0];
      oy = m.positionM[1];
      oz = m.positionM[2];
      let best = Infinity;
      col[0] = 24;
      col[1] = 24;
      col[2] = 28;
      if (dz < -1e-9) {
        const t = -oz / dz;
        const fx = ox + t * dx;
        const fy = oy + t * dy;
        if (insidePolygon(scene.floor, fx, fy)) {
          best = t;
          floorColour(scene, fx, fy, col);
        } else if (insidePolygon(scene.floor, ox, oy)) {
          best = t * firstCrossing(scene.floor, ox, oy, fx, fy);
          const k = 0.7 + (0.3 * (oz + best * dz)) / Math.max(0.1, oz);
          col[0] = 74 * k;
          col[1] = 77 * k;
          col[2] = 88 * k;
        }
      }
      for (const g of scene.groups) best = castGroup(g, best, col);
      const o = py * width + px;
      rgb[o * 3] = col[0]!;
      rgb[o * 3 + 1] = col[1]!;
      rgb[o * 3 + 2] = col[2]!;
      const z = best === Infinity ? 65535 : best * (r[6]! * dx + r[7]! * dy + r[8]! * dz) * 1000;
      depthMm[o] = Math.max(1, Math.min(65535, Math.round(z)));
    }
  }
  return { width, height, rgb, depthMm };
}

/** The nearest hit of the ray within a group, if nearer than `best` (then sets col). */
function castGroup(g: SceneGroup, best: number, col: number[]): number {
  if (slab(g.min, g.max) >= best) return best;
  for (const b of g.boxes) {
    const t = slab(b.min, b.max);
    if (t >= best) continue;
    if (b.layer) {
      const hit = marchLayer(b, t, exitT, best, col);
      if (hit < best) best = hit;
    } else {
      best = t;
      const k = FACE_SHADE[enterAxis]!;
      col[0] = b.colour[0] * k;
      col[1] = b.colour[1] * k;
      col[2] = b.colour[2] * k;
    }
  }
  for (const c of g.children) best = castGroup(c, best, col);
  return best;
}

/** Walks the ray through a layer of products; returns the hit distance (and sets col) or Infinity. */
function marchLayer(b: SceneBox, t0: number, t1: number, best: number, col: number[]): number {
  const l = b.layer!;
  const axis = enterAxis;
  const end = Math.min(t1, best);
  for (let t = t0 + 1e-6; t < end; t += MARCH_M) {
    const texel = productAt(l, ox + t * dx, oy + t * dy);
    if (texel < 0) continue;
    if (t === t0 + 1e-6 && axis === 2) {
      col[0] = l.tex[texel]!;
      col[1] = l.tex[texel + 1]!;
      col[2] = l.tex[texel + 2]!;
    } else {
      const k = axis === 2 ? 0.85 : FACE_SHADE[axis]!;
      col[0] = l.side[0] * k;
      col[1] = l.side[1] * k;
      col[2] = l.side[2] * k;
    }
    return t;
  }
  return Infinity;
}
