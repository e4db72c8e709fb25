import type { Facing, Plate, Shelf, StoreLayout, Vec2, Vec3 } from '../../proto/index.ts';
import { TWIN_TOLERANCE } from '../world/planogram.ts';
import type { World } from '../world/world.ts';
import { type GateLine, gateLine, NavGrid } from './nav.ts';

/** Clearance kept from fixtures and walls by planned paths, and the tighter one movement may use. */
export const PLAN_CLEARANCE_M = 0.3;
export const MOVE_CLEARANCE_M = 0.22;
/** Paths keep this far from fixtures where they can: along the middle of an aisle, clear of people at the shelves. */
export const COMFORT_CLEARANCE_M = 0.55;

/** Everything an agent needs to know about one plate, precomputed. */
export interface PlateInfo {
  id: string;
  /** Position in StoreModel.plates. */
  index: number;
  plate: Plate;
  shelf: Shelf;
  /** The planogram's SKU for the plate, if any. */
  sku: string | null;
  capacityUnits: number;
  /** Mean unit weight of the planogram SKU (0 when none). */
  unitWeightG: number;
  /** Unit vector from the shelf into the aisle: where a shopper stands. */
  normal: Vec2;
  /** Unit vector along the shelf. */
  along: Vec2;
  /** The plate's centre projected onto the shelf's front line. */
  front: Vec2;
  halfWidthM: number;
  depthM: number;
  surfaceZ: number;
  /** Heading of a person facing the shelf. */
  faceHeadingRad: number;
}

export function facingNormal(facing: Facing): Vec2 {
  switch (facing) {
    case '-x':
      return [-1, 0];
    case '+x':
      return [1, 0];
    case '-y':
      return [0, -1];
    default:
      return [0, 1];
  }
}

/** Standing spot in front of a plate: `offsetM` off the shelf front, `alongM` from the plate's centre along the shelf. */
export function standingSpot(p: PlateInfo, offsetM: number, alongM = 0): Vec2 {
  return [
    p.front[0] + p.normal[0] * offsetM + p.along[0] * alongM,
    p.front[1] + p.normal[1] * offsetM + p.along[1] * alongM,
  ];
}

/** Where a hand goes to take from (or put on) a plate, reaching from a standing point: the nearest part of the plate. */
export function handTarget(p: PlateInfo, stand: Vec2, liftM = 0.05, intoM = 0.12): Vec3 {
  const rel = (stand[0] - p.front[0]) * p.along[0] + (stand[1] - p.front[1]) * p.along[1];
  const margin = Math.min(0.08, p.halfWidthM * 0.5);
  const a = Math.max(-p.halfWidthM + margin, Math.min(p.halfWidthM - margin, rel));
  const inM = Math.min(intoM, p.depthM * 0.8);
  return [
    p.front[0] + p.along[0] * a - p.normal[0] * inM,
    p.front[1] + p.along[1] * a - p.normal[1] * inM,
    p.surfaceZ + liftM,
  ];
}

/** Static store knowledge shared by every agent: plates, gates and the two walking grids. */
export class StoreModel {
  readonly plates: PlateInfo[] = [];
  readonly byId = new Map<string, PlateInfo>();
  readonly entry: GateLine;
  readonly exit: GateLine;
  /** Grid for planning paths (gates closed). */
  readonly plan: NavGrid;
  /** Grid that every step of movement must stay in. */
  readonly move: NavGrid;
  /** The same with the gates open: only for the moment someone walks through a gate. */
  readonly moveThroughGates: NavGrid;
  /** Grid of the middles of aisles, preferred for walking. */
  readonly comfort: NavGrid;
  private readonly twinCache = new Map<string, PlateInfo[]>();

  constructor(
    readonly layout: StoreLayout,
    readonly world: World,
  ) {
    const shelves = new Map(layout.shelves.map((s) => [s.id, s]));
    const facings = new Map(layout.planogram.map((f) => [f.plateId, f]));
    for (const plate of layout.plates) {
      const shelf = shelves.get(plate.shelfId);
      if (!shelf) continue;
      const normal = facingNormal(shelf.facing);
      const along: Vec2 = [Math.abs(normal[1]), Math.abs(normal[0])];
      const b = shelf.box;
      const front: Vec2 =
        shelf.facing === '-x'
          ? [b.minM[0], plate.centerM[1]]
          : shelf.facing === '+x'
            ? [b.maxM[0], plate.centerM[1]]
            : shelf.facing === '-y'
              ? [plate.centerM[0], b.minM[1]]
              : [plate.centerM[0], b.maxM[1]];
      const f = facings.get(plate.id);
      const sku = f?.sku ?? null;
      const info: PlateInfo = {
        id: plate.id,
        index: this.plates.length,
        plate,
        shelf,
        sku,
        capacityUnits: f?.capacityUnits ?? 0,
        unitWeightG: sku ? (world.skus.get(sku)?.unitWeightG.mean ?? 0) : 0,
        normal,
        along,
        front,
        halfWidthM: plate.sizeM[0] / 2,
        depthM: plate.sizeM[1],
        surfaceZ: plate.centerM[2],
        faceHeadingRad: Math.atan2(-normal[1], -normal[0]),
      };
      this.plates.push(info);
      this.byId.set(plate.id, info);
    }
    const entry = layout.gates.find((g) => g.kind === 'entry');
    const exit = layout.gates.find((g) => g.kind === 'exit');
    if (!entry || !exit) throw new Error('the layout needs an entry and an exit gate');
    this.entry = gateLine(entry);
    this.exit = gateLine(exit);
    this.plan = new NavGrid(layout, PLAN_CLEARANCE_M, false);
    this.move = new NavGrid(layout, MOVE_CLEARANCE_M, false);
    this.moveThroughGates = new NavGrid(layout, MOVE_CLEARANCE_M, true);
    this.comfort = new NavGrid(layout, COMFORT_CLEARANCE_M, false);
  }

  /**
   * A walking path (waypoints, the goal last): along the middles of aisles where it can, joined to
   * the start and goal by short straight legs; on the planning grid otherwise.
   */
  findPath(from: Vec2, to: Vec2, avoid?: readonly Vec2[]): Vec2[] | null {
    const { plan, comfort } = this;
    if (avoid && avoid.length > 0) return plan.findPath(from, to, avoid);
    if (plan.isFree(from[0], from[1]) && plan.isFree(to[0], to[1])) {
      const d = Math.hypot(to[0] - from[0], to[1] - from[1]);
      if (
        (d < 1.2 || comfort.lineFree(from[0], from[1], to[0], to[1])) &&
        plan.lineFree(from[0], from[1], to[0], to[1])
      )
        return [to];
      const cs = comfort.nearestFree(from[0], from[1]);
      const cg = comfort.nearestFree(to[0], to[1]);
      if (
        cs &&
        cg &&
        plan.lineFree(from[0], from[1], cs[0], cs[1]) &&
        plan.lineFree(cg[0], cg[1], to[0], to[1])
      ) {
        const mid = comfort.findPath(cs, cg);
        if (mid) {
          const out = Math.hypot(cs[0] - from[0], cs[1] - from[1]) > 0.05 ? [cs, ...mid] : mid;
          if (Math.hypot(cg[0] - to[0], cg[1] - to[1]) > 0.05) out.push(to);
          return out;
        }
      }
    }
    return plan.findPath(from, to);
  }

  plateInfo(plateId: string): PlateInfo {
    const p = this.byId.get(plateId);
    if (!p) throw new Error(`unknown plate ${plateId}`);
    return p;
  }

  /** Plates whose planogram SKU weighs within 3% of `sku`'s unit weight, other SKUs only. */
  twins(sku: string): PlateInfo[] {
    let list = this.twinCache.get(sku);
    if (!list) {
      const w = this.world.skus.get(sku)?.unitWeightG.mean ?? 0;
      list = this.plates.filter(
        (p) => p.sku !== null && p.sku !== sku && w > 0 && Math.abs(p.unitWeightG - w) <= TWIN_TOLERANCE * w,
      );
      this.twinCache.set(sku, list);
    }
    return list;
  }

  /** Plates of another SKU whose centres lie within `radiusM` (horizontally) of a plate's centre. */
  nearby(plateId: string, sku: string, radiusM = 1.5): PlateInfo[] {
    const c = this.plateInfo(plateId).plate.centerM;
    return this.plates.filter(
      (p) =>
        p.sku !== sku &&
        p.id !== plateId &&
        Math.hypot(p.plate.centerM[0] - c[0], p.plate.centerM[1] - c[1]) <= radiusM,
    );
  }

  /** Plates near a plate, the plate included, whatever their SKU. */
  around(plateId: string, radiusM: number): PlateInfo[] {
    const c = this.plateInfo(plateId).plate.centerM;
    return this.plates.filter(
      (p) => Math.hypot(p.plate.centerM[0] - c[0], p.plate.centerM[1] - c[1]) <= radiusM,
    );
  }
}
