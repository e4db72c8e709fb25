import { type CameraModel, project, toCameraFrame, type Vec3 } from '../../proto/index.ts';
import type { Rgb } from './colour.ts';
import { allocPrim, ELLIPSE, POLYGON, type Prim } from './prim.ts';

/** Nearer than this (m along the optical axis) a shape is not drawn: the camera is inside it. */
const NEAR_M = 0.05;

function clipBounds(p: Prim, m: CameraModel, x0: number, y0: number, x1: number, y1: number): Prim | null {
  p.x0 = Math.max(0, Math.floor(x0));
  p.y0 = Math.max(0, Math.floor(y0));
  p.x1 = Math.min(m.width - 1, Math.ceil(x1));
  p.y1 = Math.min(m.height - 1, Math.ceil(y1));
  return p.x0 > p.x1 || p.y0 > p.y1 ? null : p;
}

function setColour(p: Prim, c: Rgb, shade: number, depthM: number): void {
  p.r = c[0];
  p.g = c[1];
  p.b = c[2];
  p.shade = shade;
  p.depth = depthM;
  p.depthMm = Math.round(depthM * 1000);
}

/**
 * An ellipsoid (centre, world covariance of its semi-axes Σ = Σ aᵢ² eᵢeᵢᵀ) as the image ellipse of
 * the projection linearised at its centre, which also stretches it towards the image edges as a
 * wide-angle lens does.
 */
export function ellipsoid(
  m: CameraModel,
  c: Vec3,
  sigma: readonly number[],
  colour: Rgb,
  shade: number,
): Prim | null {
  const [X, Y, Z] = toCameraFrame(m, c);
  if (Z < NEAR_M) return null;
  const r = m.rWorldToCam;
  // Rows of J·R, where J = [[fx/Z, 0, -fx·X/Z²], [0, fy/Z, -fy·Y/Z²]].
  const a0 = (m.fxPx / Z) * (r[0]! - (X / Z) * r[6]!);
  const a1 = (m.fxPx / Z) * (r[1]! - (X / Z) * r[7]!);
  const a2 = (m.fxPx / Z) * (r[2]! - (X / Z) * r[8]!);
  const b0 = (m.fyPx / Z) * (r[3]! - (Y / Z) * r[6]!);
  const b1 = (m.fyPx / Z) * (r[4]! - (Y / Z) * r[7]!);
  const b2 = (m.fyPx / Z) * (r[5]! - (Y / Z) * r[8]!);
  const [s00, s01, s02, , s11, s12, , , s22] = sigma as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const sa0 = s00 * a0 + s01 * a1 + s02 * a2;
  const sa1 = s01 * a0 + s11 * a1 + s12 * a2;
  const sa2 = s02 * a0 + s12 * a1 + s22 * a2;
  const sb0 = s00 * b0 + s01 * b1 + s02 * b2;
  const sb1 = s01 * b0 + s11 * b1 + s12 * b2;
  const sb2 = s02 * b0 + s12 * b1 + s22 * b2;
  const uu = a0 * sa0 + a1 * sa1 + a2 * sa2;
  const uv = b0 * sa0 + b1 * sa1 + b2 * sa2;
  const vv = b0 * sb0 + b1 * sb1 + b2 * sb2;
  const det = uu * vv - uv * uv;
  if (!(det > 1e-9)) return null;
  const p = allocPrim(ELLIPSE);
  p.cx = m.fxPx * (X / Z) + m.cxPx;
  p.cy = m.fyPx * (Y / Z) + m.cyPx;
  p.qa = vv / det;
  p.qb = -uv / det;
  p.qc = uu / det;
  setColour(p, colour, shade, Z);
  const ex = Math.sqrt(uu);
  const ey = Math.sqrt(vv);
  return clipBounds(p, m, p.cx - ex - 0.5, p.cy - ey - 0.5, p.cx + ex, p.cy + ey);
}

export function sphereSigma(r: number): number[] {
  const q = r * r;
  return [q, 0, 0, 0, q, 0, 0, 0, q];
}

/** Σ of an ellipsoid from orthogonal unit axes and their semi-lengths. */
export function axesSigma(axes: readonly Vec3[], lengths: readonly number[]): number[] {
  const s = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  axes.forEach((e, k) => {
    const l2 = lengths[k]! * lengths[k]!;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s[i * 3 + j]! += l2 * e[i]! * e[j]!;
  });
  return s;
}

/** Convex hull (monotone chain) of 2D points, counter-clockwise in image coordinates. */
function hull(xs: number[], ys: number[]): [number[], number[]] {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]! || ys[a]! - ys[b]!);
  const cross = (o: number, a: number, b: number) =>
    (xs[a]! - xs[o]!) * (ys[b]! - ys[o]!) - (ys[a]! - ys[o]!) * (xs[b]! - xs[o]!);
  const lower: number[] = [];
  for (const i of idx) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, i) <= 0)
      lower.pop();
    lower.push(i);
  }
  const upper: number[] = [];
  for (let k = idx.length - 1; k >= 0; k--) {
    const i = idx[k]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, i) <= 0)
      upper.pop();
    upper.push(i);
  }
  const h = lower.slice(0, -1).concat(upper.slice(0, -1));
  return [h.map((i) => xs[i]!), h.map((i) => ys[i]!)];
}

function polygonPrim(
  m: CameraModel,
  xs: number[],
  ys: number[],
  colour: Rgb,
  depthM: number,
  convex = false,
): Prim | null {
  if (xs.length < 3) return null;
  const p = allocPrim(POLYGON);
  if (convex) {
    p.xs = xs;
    p.ys = ys;
  } else {
    [p.xs, p.ys] = hull(xs, ys);
  }
  setColour(p, colour, 0, depthM);
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < p.xs.length; i++) {
    const x = p.xs[i]!;
    const y = p.ys[i]!;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return clipBounds(p, m, x0 - 0.5, y0 - 0.5, x1, y1);
}

/** The silhouette of a solid given by its corner points: the convex hull of their projections. */
export function solid(m: CameraModel, points: readonly Vec3[], colour: Rgb, depthM: number): Prim | null {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const pt of points) {
    const q = project(m, pt);
    if (!q || q.depthM < NEAR_M) return null;
    xs.push(q.u);
    ys.push(q.v);
  }
  return polygonPrim(m, xs, ys, colour, depthM);
}

/**
 * A thick segment (limb) from a to b of radius rM: a half disc around each projected end joined
 * by straight sides (with slightly different end radii this is convex up to a sliver).
 */
export function capsule(m: CameraModel, a: Vec3, b: Vec3, rM: number, colour: Rgb): Prim | null {
  const pa = project(m, a);
  const pb = project(m, b);
  if (!pa || !pb || pa.depthM < NEAR_M || pb.depthM < NEAR_M) return null;
  const ra = (m.fxPx * rM) / pa.depthM;
  const rb = (m.fxPx * rM) / pb.depthM;
  const ex = pb.u - pa.u;
  const ey = pb.v - pa.v;
  const len = Math.hypot(ex, ey);
  // Unit direction a→b, or any direction when the ends coincide in the image.
  const dx = len > 1e-6 ? ex / len : 1;
  const dy = len > 1e-6 ? ey / len : 0;
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [q, r, sign] of [
    [pb, rb, 1],
    [pa, ra, -1],
  ] as const) {
    // From +normal round the far side to -normal (b), then from -normal round to +normal (a).
    for (let k = 0; k <= CAP_STEPS; k++) {
      const th = (Math.PI * k) / CAP_STEPS - Math.PI / 2;
      const c = Math.cos(th) * sign;
      const s = Math.sin(th) * sign;
      // direction = c·d + s·n with n = (-dy, dx)
      xs.push(q.u + r * (c * dx - s * dy));
      ys.push(q.v + r * (c * dy + s * dx));
    }
  }
  return polygonPrim(m, xs, ys, colour, (pa.depthM + pb.depthM) / 2, true);
}

const CAP_STEPS = 6;

/**
 * A textured flat face: the polygon through `outline` (world points on the face), with the texture
 * mapped so that o → (0,0), o+eS → (1,0), o+eT → (0,1).
 */
export function texturedFace(
  m: CameraModel,
  outline: readonly Vec3[],
  o: Vec3,
  eS: Vec3,
  eT: Vec3,
  tex: Uint8Array,
  depthM: number,
): Prim | null {
  const q0 = project(m, o);
  const qs = project(m, [o[0] + eS[0], o[1] + eS[1], o[2] + eS[2]]);
  const qt = project(m, [o[0] + eT[0], o[1] + eT[1], o[2] + eT[2]]);
  if (!q0 || !qs || !qt) return null;
  const p = solid(m, outline, [0, 0, 0], depthM);
  if (!p) return null;
  // [x - x0, y - y0] = [[as, at], [bs, bt]]·[s, t]
  const as = qs.u - q0.u;
  const at = qt.u - q0.u;
  const bs = qs.v - q0.v;
  const bt = qt.v - q0.v;
  const det = as * bt - at * bs;
  if (Math.abs(det) < 1e-9) return p;
  p.tex = tex;
  p.su = bt / det;
  p.sv = -at / det;
  p.s0 = -(p.su * q0.u + p.sv * q0.v);
  p.tu = -bs / det;
  p.tv = as / det;
  p.t0 = -(p.tu * q0.u + p.tv * q0.v);
  return p;
}
