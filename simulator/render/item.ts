import type { Appearance, CameraModel, Vec3 } from '../../proto/index.ts';
import { toCameraFrame } from '../../proto/index.ts';
import { hexToRgb, isRound, productTexture, type Rgb, scale } from './colour.ts';
import type { Prim } from './prim.ts';
import { solid, texturedFace } from './project.ts';

const TRAY_RIM: Rgb = [226, 226, 220];
const ROUND_STEPS = 12;

/**
 * A product held upright at `centre`, its depth axis along `out` (horizontal): the silhouette of the
 * whole solid in a darker primary (its sides) and its top face textured with its pattern.
 * Returns the shapes far to near; `depthM` overrides their sort depth.
 */
export function item(m: CameraModel, a: Appearance, centre: Vec3, out: Vec3, depthM?: number): Prim[] {
  const [w, d, h] = a.sizeM;
  const eD = out;
  const eW: Vec3 = [-out[1], out[0], 0];
  const at = (s: number, t: number, z: number): Vec3 => [
    centre[0] + eW[0] * s + eD[0] * t,
    centre[1] + eW[1] * s + eD[1] * t,
    centre[2] + z,
  ];
  const hw = w / 2;
  const hd = d / 2;
  const hh = h / 2;
  const round = isRound(a.shape);
  const corners: Vec3[] = [];
  const topOutline: Vec3[] = [];
  const inset = a.shape === 'bag' ? 0.85 : a.shape === 'tray' ? 0.8 : 1;
  if (round) {
    for (let k = 0; k < ROUND_STEPS; k++) {
      const phi = (2 * Math.PI * k) / ROUND_STEPS;
      const s = hw * Math.cos(phi);
      const t = hd * Math.sin(phi);
      corners.push(at(s, t, -hh), at(s, t, hh));
      topOutline.push(at(s, t, hh));
    }
  } else {
    for (const [s, t] of [
      [-1, -1],
      [1, -1],
      [1, 1],
      [-1, 1],
    ] as const) {
      corners.push(at(s * hw, t * hd, -hh), at(s * hw, t * hd, hh));
      topOutline.push(at(s * hw * inset, t * hd * inset, hh));
    }
  }
  const depth = depthM ?? toCameraFrame(m, at(0, 0, hh))[2];
  const sideColour = a.shape === 'tray' ? TRAY_RIM : scale(hexToRgb(a.primary), 0.62);
  const out2: Prim[] = [];
  const side = solid(m, corners, sideColour, depth);
  if (side) out2.push(side);
  if (a.shape !== 'tray') out2.push(...printedSides(m, a, corners, round, depth - 0.0001));
  const o = at(-hw * inset, -hd * inset, hh);
  const eS: Vec3 = [eW[0] * w * inset, eW[1] * w * inset, 0];
  const eT: Vec3 = [eD[0] * d * inset, eD[1] * d * inset, 0];
  const topFace = texturedFace(m, topOutline, o, eS, eT, productTexture(a), depth - 0.0002);
  if (topFace) out2.push(topFace);
  return out2;
}

/**
 * The visible side faces, textured with the product's print. `corners` alternate bottom and top
 * around the footprint; a face is visible when it turns towards the camera. Around a round item
 * the print runs once along the whole circumference, as a label does.
 */
function printedSides(
  m: CameraModel,
  a: Appearance,
  corners: Vec3[],
  round: boolean,
  depthM: number,
): Prim[] {
  const tex = productTexture(a, true);
  const n = corners.length / 2;
  const cx = corners.reduce((sum, c) => sum + c[0], 0) / corners.length;
  const cy = corners.reduce((sum, c) => sum + c[1], 0) / corners.length;
  const [px, py] = m.positionM;
  const out: Prim[] = [];
  for (let k = 0; k < n; k++) {
    const b0 = corners[2 * k]!;
    const t0 = corners[2 * k + 1]!;
    const b1 = corners[2 * ((k + 1) % n)]!;
    const t1 = corners[2 * ((k + 1) % n) + 1]!;
    const mx = (b0[0] + b1[0]) / 2;
    const my = (b0[1] + b1[1]) / 2;
    // Outward normal of a vertical face is horizontal, away from the footprint's centre.
    const facing = (mx - cx) * (px - mx) + (my - cy) * (py - my);
    if (facing <= 0) continue;
    const chord: Vec3 = [b1[0] - b0[0], b1[1] - b0[1], 0];
    const up: Vec3 = [0, 0, t0[2] - b0[2]];
    // Round: s runs from k/n to (k+1)/n along this face; flat: the whole print on each face.
    const eS: Vec3 = round ? [chord[0] * n, chord[1] * n, 0] : chord;
    const o: Vec3 = round ? [b0[0] - (eS[0] * k) / n, b0[1] - (eS[1] * k) / n, b0[2]] : b0;
    const face = texturedFace(m, [b0, b1, t1, t0], o, eS, up, tex, depthM);
    if (face) out.push(face);
  }
  return out;
}
