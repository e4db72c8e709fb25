import type { Catalog, StoreLayout, Vec2 } from '../../proto/index.ts';
import { hexToRgb, isRound, productTexture, type Rgb, scale, TEX } from './colour.ts';

/**
 * The static store as axis-aligned boxes, for ray casting the per-camera backgrounds: per fixture
 * a plinth, back panels (a gondola's spine, a wall shelf's back), end panels, one board under each
 * shelf, and on each planogram plate a layer of products standing in rows.
 */

/** Products standing in a grid on a plate. u runs along the shelf, v into it from the front. */
export interface ProductLayer {
  /** World axis (0 = x, 1 = y) that u runs along; v runs along the other one. */
  uAxis: 0 | 1;
  uStart: number;
  /** Front edge of the plate and the direction (+1 / -1) of v, into the shelf, in world units. */
  vFront: number;
  vDir: 1 | -1;
  pitchU: number;
  pitchV: number;
  /** Item footprint along u and v. */
  w: number;
  d: number;
  nU: number;
  nV: number;
  count: number;
  round: boolean;
  tex: Uint8Array;
  side: Rgb;
}

export interface SceneBox {
  min: [number, number, number];
  max: [number, number, number];
  colour: Rgb;
  layer: ProductLayer | null;
}

/** Boxes and sub-groups inside one bounding box (a fixture, a shelf), so most rays test few boxes. */
export interface SceneGroup {
  min: [number, number, number];
  max: [number, number, number];
  boxes: SceneBox[];
  children: SceneGroup[];
}

export interface Scene {
  groups: SceneGroup[];
  floor: readonly Vec2[];
  gates: { a: Vec2; b: Vec2; colour: Rgb }[];
  seed: number;
}

const PLINTH: Rgb = [62, 64, 70];
const PANEL: Rgb = [168, 172, 178];
const END: Rgb = [128, 132, 140];
const BOARD: Rgb = [206, 208, 211];
const GAP = 0.012;
const THICK = 0.03;

function box(
  min: [number, number, number],
  max: [number, number, number],
  colour: Rgb,
  layer: ProductLayer | null = null,
): SceneBox {
  return { min, max, colour, layer };
}

function withAxis(b: SceneBox, axis: 0 | 1, lo: number, hi: number): SceneBox {
  const min: [number, number, number] = [...b.min];
  const max: [number, number, number] = [...b.max];
  min[axis] = lo;
  max[axis] = hi;
  return { ...b, min, max };
}

function group(boxes: SceneBox[], children: SceneGroup[]): SceneGroup {
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (const b of [...boxes, ...children]) {
    for (let k = 0; k < 3; k++) {
      min[k] = Math.min(min[k]!, b.min[k]!);
      max[k] = Math.max(max[k]!, b.max[k]!);
    }
  }
  return { min, max, boxes, children };
}

export function buildScene(layout: StoreLayout, catalog: Catalog, seed: number): Scene {
  const skus = new Map(catalog.items.map((i) => [i.sku, i]));
  const plan = new Map(layout.planogram.map((f) => [f.plateId, f]));
  const groups: SceneGroup[] = [];
  for (const fx of layout.fixtures) {
    const shelves = layout.shelves.filter((s) => s.fixtureId === fx.id);
    const boxes: SceneBox[] = [];
    const fmin = fx.box.minM;
    const fmax = fx.box.maxM;
    const uAxis: 0 | 1 =
      shelves.length > 0 && shelves[0]!.facing.endsWith('y')
        ? 0
        : fmax[1] - fmin[1] >= fmax[0] - fmin[0]
          ? 1
          : 0;
    const vAxis: 0 | 1 = uAxis === 0 ? 1 : 0;
    boxes.push(box([fmin[0], fmin[1], 0], [fmax[0], fmax[1], Math.min(0.1, fmax[2])], PLINTH));
    const full = box([fmin[0], fmin[1], 0], [fmax[0], fmax[1], fmax[2]], END);
    boxes.push(withAxis(full, uAxis, fmin[uAxis], fmin[uAxis] + THICK));
    boxes.push(withAxis(full, uAxis, fmax[uAxis] - THICK, fmax[uAxis]));
    const backs = new Set<number>();
    const children: SceneGroup[] = [];
    for (const s of shelves) {
      const back = s.facing.startsWith('-') ? s.box.maxM[vAxis] : s.box.minM[vAxis];
      backs.add(Math.round(back * 1000) / 1000);
      const shelfBoxes: SceneBox[] = [];
      shelfBoxes.push(
        box(
          [s.box.minM[0], s.box.minM[1], s.box.minM[2] - 0.025],
          [s.box.maxM[0], s.box.maxM[1], s.box.minM[2]],
          BOARD,
        ),
      );
      for (const p of layout.plates.filter((pl) => pl.shelfId === s.id)) {
        const f = plan.get(p.id);
        const item = f ? skus.get(f.sku) : undefined;
        if (!f || !item) continue;
        const [w, d, h] = item.appearance.sizeM;
        const [W, D] = p.sizeM;
        const nU = Math.max(1, Math.floor((W + GAP) / (w + GAP)));
        const nV = Math.max(1, Math.floor((D + GAP) / (d + GAP)));
        const spanU = nU * (w + GAP) - GAP;
        const uStart = p.centerM[uAxis] - spanU / 2;
        const vDir: 1 | -1 = s.facing.startsWith('-') ? 1 : -1;
        const vFront = p.centerM[vAxis] - (vDir * D) / 2;
        const vEnd = vFront + vDir * (nV * (d + GAP) - GAP);
        const layer: ProductLayer = {
          uAxis,
          uStart,
          vFront,
          vDir,
          pitchU: w + GAP,
          pitchV: d + GAP,
          w,
          d,
          nU,
          nV,
          count: Math.min(nU * nV, f.capacityUnits),
          round: isRound(item.appearance.shape),
          tex: productTexture(item.appearance),
          side: scale(hexToRgb(item.appearance.primary), 0.62),
        };
        const min: [number, number, number] = [0, 0, p.centerM[2]];
        const max: [number, number, number] = [0, 0, p.centerM[2] + h];
        min[uAxis] = uStart;
        max[uAxis] = uStart + spanU;
        min[vAxis] = Math.min(vFront, vEnd);
        max[vAxis] = Math.max(vFront, vEnd);
        shelfBoxes.push(box(min, max, layer.side, layer));
      }
      children.push(group(shelfBoxes, []));
    }
    for (const back of backs) {
      const lo = Math.max(fmin[vAxis], back - THICK / 2);
      boxes.push(
        withAxis(
          box([fmin[0], fmin[1], 0], [fmax[0], fmax[1], fmax[2]], PANEL),
          vAxis,
          lo,
          Math.min(fmax[vAxis], lo + THICK),
        ),
      );
    }
    groups.push(group(boxes, children));
  }
  const gates = layout.gates.map((g) => ({
    a: g.lineM[0],
    b: g.lineM[1],
    colour: (g.kind === 'entry' ? [46, 170, 96] : [206, 74, 62]) as Rgb,
  }));
  return { groups, floor: layout.floorPolygonM, gates, seed };
}

/**
 * Looks up the product under a world point inside a layer box. Returns the texel offset
 * (into layer.tex) of the item's top face there, or -1 over a gap between items.
 */
export function productAt(l: ProductLayer, x: number, y: number): number {
  const u = l.uAxis === 0 ? x : y;
  const v = l.uAxis === 0 ? y : x;
  const lu = u - l.uStart;
  const iu = Math.floor(lu / l.pitchU);
  if (iu < 0 || iu >= l.nU) return -1;
  const fu = lu - iu * l.pitchU;
  if (fu > l.w) return -1;
  const lv = (v - l.vFront) * l.vDir;
  const iv = Math.floor(lv / l.pitchV);
  if (iv < 0 || iv >= l.nV || iv * l.nU + iu >= l.count) return -1;
  const fv = lv - iv * l.pitchV;
  if (fv > l.d) return -1;
  const s = fu / l.w;
  const t = fv / l.d;
  if (l.round && (s - 0.5) * (s - 0.5) + (t - 0.5) * (t - 0.5) > 0.25) return -1;
  const tx = Math.min(TEX - 1, (s * TEX) | 0);
  const ty = Math.min(TEX - 1, (t * TEX) | 0);
  return (ty * TEX + tx) * 3;
}
