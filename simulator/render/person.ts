import type { Appearance, CameraModel, Vec3 } from '../../proto/index.ts';
import type { ItemUnit, Person } from '../world/types.ts';
import { hashString, hexToRgb, productTexture, type Rgb, scale } from './colour.ts';
import { item } from './item.ts';
import type { Prim } from './prim.ts';
import { axesSigma, capsule, ellipsoid, solid, sphereSigma, texturedFace } from './project.ts';
import type { Raster } from './raster.ts';
import type { LabelKind } from './types.ts';

/**
 * A person as overhead cameras see one, built from simple solids projected with the camera model:
 * legs and arms as thick segments, hips, torso and shoulders as ellipsoids (top and bottom
 * colours), the head as a sphere at headM (its centre) with hair by style, hands as small spheres
 * with the held items beside them, and a basket on the left if the person carries one.
 * headingRad is the facing direction in store coordinates: 0 faces +x (east), π/2 faces +y (north).
 * Every shape belongs to a part, and every part to the person's label and possibly to a head,
 * hand or item label: that is what the labels are counted from.
 */

export interface LabelMeta {
  kind: LabelKind;
  personId: string;
  hand?: 0 | 1;
  sku?: string;
  itemId?: string;
}

export interface DrawContext {
  m: CameraModel;
  raster: Raster;
  prims: Prim[];
  meta: LabelMeta[];
  appearance: ReadonlyMap<string, Appearance>;
}

const HEAD_R = 0.1;
const HAND_R = 0.045;
const UP: Vec3 = [0, 0, 1];
const CAPS: Rgb[] = [
  [200, 40, 40],
  [30, 60, 140],
  [235, 235, 225],
  [30, 30, 30],
  [230, 150, 30],
];
const BASKETS: Rgb[] = [
  [190, 30, 40],
  [20, 90, 180],
  [40, 40, 44],
];

const add = (a: Vec3, b: Vec3, k = 1): Vec3 => [a[0] + b[0] * k, a[1] + b[1] * k, a[2] + b[2] * k];
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
function norm(a: Vec3, fallback: Vec3): Vec3 {
  const n = Math.hypot(a[0], a[1], a[2]);
  return n < 1e-9 ? fallback : [a[0] / n, a[1] / n, a[2] / n];
}

/** True when no part of the person can reach into the image (a cheap cull before building shapes). */
function outOfView(m: CameraModel, person: Person): boolean {
  const pts: Vec3[] = [
    [person.posM[0], person.posM[1], 0],
    person.headM,
    person.hands[0].posM,
    person.hands[1].posM,
  ];
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const p of pts) {
    for (const dz of [0, person.headM[2] + 0.2 - p[2]]) {
      const [X, Y, Z] = [p[0], p[1], p[2] + dz];
      const c = m.rWorldToCam;
      const px = m.positionM;
      const zc = c[6]! * (X - px[0]) + c[7]! * (Y - px[1]) + c[8]! * (Z - px[2]);
      if (zc < 0.3) return false;
      const u = (m.fxPx * (c[0]! * (X - px[0]) + c[1]! * (Y - px[1]) + c[2]! * (Z - px[2]))) / zc + m.cxPx;
      const v = (m.fyPx * (c[3]! * (X - px[0]) + c[4]! * (Y - px[1]) + c[5]! * (Z - px[2]))) / zc + m.cyPx;
      const margin = (m.fxPx * 0.7) / zc;
      x0 = Math.min(x0, u - margin);
      x1 = Math.max(x1, u + margin);
      y0 = Math.min(y0, v - margin);
      y1 = Math.max(y1, v + margin);
    }
  }
  return x1 < 0 || y1 < 0 || x0 >= m.width || y0 >= m.height;
}

const byDepth = (a: Prim, b: Prim) => b.depth - a.depth;

/** Builds every present person's shapes for ctx's camera and draws them, far to near, into its raster. */
export function drawPeople(ctx: DrawContext, persons: readonly Person[]): void {
  const { raster } = ctx;
  for (const person of persons) if (person.present) buildPerson(ctx, person);
  for (const p of ctx.prims) {
    raster.extend(raster.partTop[p.part]!, p);
    const sub = raster.partSub[p.part]!;
    if (sub >= 0) raster.extend(sub, p);
  }
  raster.allocMasks();
  ctx.prims.sort(byDepth);
  for (const p of ctx.prims) raster.draw(p);
}

/** Builds every shape of one person for one camera, registering its labels and parts. */
export function buildPerson(ctx: DrawContext, person: Person): void {
  const { m, raster, meta } = ctx;
  if (outOfView(m, person)) return;
  const ap = person.appearance;
  const top = raster.addLabel();
  meta[top] = { kind: 'person', personId: person.personId };
  const body = raster.addPart(top, -1);
  const put = (p: Prim | null, part: number, depth?: number) => {
    if (!p) return;
    p.part = part;
    if (depth !== undefined) {
      p.depth = depth;
      p.depthMm = Math.round(depth * 1000);
    }
    ctx.prims.push(p);
  };
  const topC = hexToRgb(ap.topColour);
  const bottomC = hexToRgb(ap.bottomColour);
  const skin = hexToRgb(ap.skinColour);
  const hair = hexToRgb(ap.hairColour);
  const k = Math.max(0.6, Math.min(1.25, ap.heightM / 1.75));
  const f: Vec3 = [Math.cos(person.headingRad), Math.sin(person.headingRad), 0];
  const l: Vec3 = [-f[1], f[0], 0];
  const head = person.headM;
  const pos: Vec3 = [person.posM[0], person.posM[1], 0];
  // As the agents pose bodies: the shoulders hang 11 % of body height below the head's centre,
  // beside it, so leaning or crouching moves them with the head.
  const zS = Math.max(0.5, head[2] - 0.11 * ap.heightM);
  const zH = Math.max(0.3, Math.min(0.52 * ap.heightM, zS - 0.42 * k));
  const sc: Vec3 = [head[0], head[1], zS];
  const hip: Vec3 = [pos[0], pos[1], zH];
  const halfW = ap.shoulderWidthM / 2;

  // Legs and feet.
  for (const side of [-1, 1]) {
    const foot: Vec3 = add(add(pos, l, side * 0.11), f, 0.04);
    put(capsule(m, add(add(hip, l, side * 0.1), UP, -0.05), add(foot, UP, 0.06), 0.065, bottomC), body);
    put(
      ellipsoid(
        m,
        add(add(foot, f, 0.06), UP, 0.04),
        axesSigma([f, l, UP], [0.13, 0.05, 0.04]),
        [48, 46, 50],
        0.2,
      ),
      body,
    );
  }
  put(ellipsoid(m, hip, axesSigma([l, f, UP], [halfW * 0.75, 0.12, 0.1]), bottomC, 0.25), body);
  const axis = norm(sub(sc, hip), UP);
  const fw = norm(cross(l, axis), f);
  const mid: Vec3 = add(hip, sub(sc, hip), 0.5);
  const len = Math.hypot(sc[0] - hip[0], sc[1] - hip[1], sc[2] - hip[2]) / 2 + 0.05;
  // An open jacket covers the shoulders, arms and sides; the top shows down the front.
  const outerC = ap.jacketColour ? hexToRgb(ap.jacketColour) : topC;
  put(ellipsoid(m, mid, axesSigma([l, fw, axis], [halfW * 0.85, 0.11, len]), outerC, 0.25), body);
  if (ap.jacketColour) {
    const front = add(mid, fw, 0.1);
    put(ellipsoid(m, front, axesSigma([l, fw, axis], [halfW * 0.32, 0.025, len * 0.9]), topC, 0.25), body);
  }
  put(ellipsoid(m, sc, axesSigma([l, fw, axis], [halfW, 0.12, 0.07]), scale(outerC, 1.06), 0.3), body);
  if (ap.backpackColour) {
    const pack = add(add(sc, fw, -0.16), axis, -0.2);
    const packC = hexToRgb(ap.backpackColour);
    put(ellipsoid(m, pack, axesSigma([l, fw, axis], [halfW * 0.62, 0.09, 0.2]), packC, 0.3), body);
  }

  // Arms, hands and what the hands hold. hands[0] is the left hand, but each hand takes the
  // shoulder on its own side (arms never cross) should a pose put it on the other.
  const leftFirst = dot(sub(person.hands[0].posM, sc), l) >= dot(sub(person.hands[1].posM, sc), l);
  person.hands.forEach((hand, i) => {
    const side = (i === 0) === leftFirst ? 1 : -1;
    const sh = add(sc, l, side * (halfW - 0.04));
    const hp = hand.posM;
    const reach = sub(hp, sh);
    const dist = Math.hypot(reach[0], reach[1], reach[2]);
    const seg = 0.29 * k;
    let elbow = add(sh, reach, 0.5);
    if (dist < 2 * seg) {
      const dir = norm(reach, UP);
      const bendRaw = add(add([0, 0, -0.6], l, side * 0.8), dir, -dot(add([0, 0, -0.6], l, side * 0.8), dir));
      elbow = add(elbow, norm(bendRaw, l), Math.sqrt(seg * seg - (dist * dist) / 4));
    }
    put(capsule(m, sh, elbow, 0.05, outerC), body);
    const fore = capsule(m, elbow, hp, 0.04, skin);
    put(fore, body);
    const handLabel = raster.addLabel();
    meta[handLabel] = { kind: 'hand', personId: person.personId, hand: i as 0 | 1 };
    const handPrim = ellipsoid(m, hp, sphereSigma(HAND_R), skin, 0.3);
    const handDepth = Math.min(handPrim?.depth ?? Infinity, (fore?.depth ?? Infinity) - 0.001);
    put(handPrim, raster.addPart(top, handLabel), handDepth);
    const out = norm([hp[0] - sc[0], hp[1] - sc[1], 0], f);
    let offset = HAND_R + 0.01;
    for (const unit of hand.holding) {
      const a = ctx.appearance.get(unit.sku);
      if (!a) continue;
      const itemLabel = raster.addLabel();
      meta[itemLabel] = {
        kind: 'item',
        personId: person.personId,
        hand: i as 0 | 1,
        sku: unit.sku,
        itemId: unit.itemId,
      };
      const [, d, h] = a.sizeM;
      const centre: Vec3 = add(add(hp, out, offset + d / 2), UP, 0.02 - h / 2);
      offset += d + 0.01;
      const part = raster.addPart(top, itemLabel);
      for (const p of item(m, a, centre, out, Number.isFinite(handDepth) ? handDepth + 0.0005 : undefined))
        put(p, part);
    }
  });

  // Head and hair.
  const headLabel = raster.addLabel();
  meta[headLabel] = { kind: 'head', personId: person.personId };
  const headPart = raster.addPart(top, headLabel);
  const headPrim = ellipsoid(m, head, sphereSigma(HEAD_R), skin, 0.35);
  const hd = headPrim?.depth ?? 0;
  put(headPrim, headPart);
  if (headPrim) {
    if (ap.hairStyle === 'long') {
      put(
        ellipsoid(
          m,
          add(add(head, f, -0.06), UP, -0.1),
          axesSigma([l, f, UP], [0.11, 0.08, 0.15]),
          hair,
          0.25,
        ),
        headPart,
      );
    }
    if (ap.hairStyle === 'short' || ap.hairStyle === 'long') {
      put(
        ellipsoid(m, add(add(head, f, -0.032), UP, 0.012), sphereSigma(HEAD_R * 1.01), hair, 0.25),
        headPart,
        hd - 0.001,
      );
    } else if (ap.hairStyle === 'cap') {
      const cap = CAPS[hashString(person.personId) % CAPS.length]!;
      put(
        ellipsoid(m, add(add(head, f, -0.015), UP, 0.015), sphereSigma(HEAD_R * 1.03), cap, 0.25),
        headPart,
        hd - 0.001,
      );
      put(
        ellipsoid(m, add(head, f, 0.11), axesSigma([f, l, UP], [0.065, 0.085, 0.012]), scale(cap, 0.8), 0.1),
        headPart,
        hd - 0.0015,
      );
    }
  }

  if (ap.basket) basket(ctx, person, pos, f, l, zH, put, body);
}

function basket(
  ctx: DrawContext,
  person: Person,
  pos: Vec3,
  f: Vec3,
  l: Vec3,
  zH: number,
  put: (p: Prim | null, part: number, depth?: number) => void,
  part: number,
): void {
  const { m } = ctx;
  const colour = BASKETS[hashString(person.personId) % BASKETS.length]!;
  const c: Vec3 = add(add(pos, l, 0.32), f, 0.05);
  const [hl, hw, z0, z1] = [0.21, 0.15, Math.max(0.1, zH - 0.2), Math.max(0.34, zH + 0.04)];
  const corners: Vec3[] = [];
  for (const z of [z0, z1])
    for (const a of [-1, 1])
      for (const b of [-1, 1]) corners.push(add(add(add(c, f, a * hl), l, b * hw), UP, z - c[2]));
  const depth = (project1(m, add(c, UP, (z0 + z1) / 2)) ?? 0) || 0;
  put(solid(m, corners, colour, depth), part);
  const floorZ = z0 + 0.03;
  const inner: Vec3[] = [];
  for (const [a, b] of [
    [-1, -1],
    [1, -1],
    [1, 1],
    [-1, 1],
  ] as const) {
    inner.push(add(add(add(c, f, a * (hl - 0.025)), l, b * (hw - 0.025)), UP, floorZ));
  }
  put(solid(m, inner, scale(colour, 0.5), depth), part, depth - 0.001);
  person.basket.slice(0, 8).forEach((unit: ItemUnit, i) => {
    const a = ctx.appearance.get(unit.sku);
    if (!a) return;
    const cell: Vec3 = add(
      add(add(c, f, -hl + 0.06 + (i % 4) * 0.1), l, i < 4 ? -0.07 : 0.07),
      UP,
      floorZ + 0.005,
    );
    const s = Math.min(0.09, a.sizeM[0]) / 2;
    const t = Math.min(0.12, a.sizeM[1]) / 2;
    const o = add(add(cell, f, -s), l, -t);
    const outline = [o, add(o, f, 2 * s), add(add(o, f, 2 * s), l, 2 * t), add(o, l, 2 * t)];
    const eS: Vec3 = [f[0] * 2 * s, f[1] * 2 * s, 0];
    const eT: Vec3 = [l[0] * 2 * t, l[1] * 2 * t, 0];
    put(texturedFace(m, outline, o, eS, eT, productTexture(a), depth - 0.002), part);
  });
}

function project1(m: CameraModel, p: Vec3): number | null {
  const r = m.rWorldToCam;
  const z =
    r[6]! * (p[0] - m.positionM[0]) + r[7]! * (p[1] - m.positionM[1]) + r[8]! * (p[2] - m.positionM[2]);
  return z > 0 ? z : null;
}
