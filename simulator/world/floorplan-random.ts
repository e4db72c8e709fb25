import { type Catalog, isWalkoutError, type StoreLayout } from '../../proto/index.ts';
import type { Rng } from '../core/rng.ts';
import {
  END_M,
  type FloorPlanParams,
  FRONT_M,
  floorPlan,
  GONDOLA,
  SIDE_M,
  WALL,
  type WallSide,
} from './floorplan.ts';

const ATTEMPTS = 40;
/** Every plate is a simulated load cell: a store of a few hundred would slow the simulator down. */
const MAX_PLATES = 160;

const half = (v: number) => Math.round(v * 2) / 2;
const tenth = (v: number) => Math.round(v * 10) / 10;

/**
 * Draws floor-plan parameters for a convenience store of 10–16 × 8–12 m with 2–5 gondolas either
 * way round. Parameters are drawn to fit, but a draw can still leave too few plates for the
 * catalogue (or too many for the simulator's pace); such draws are thrown away and drawn again,
 * deterministically, from the same `rng`.
 */
export function randomFloorPlan(
  catalog: Catalog,
  rng: Rng,
  store: { storeId: string; name: string },
): { params: FloorPlanParams; layout: StoreLayout } {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const params = drawParams(rng, store);
    if (!params) continue;
    try {
      const layout = floorPlan(catalog, params);
      if (layout.plates.length <= MAX_PLATES) return { params, layout };
    } catch (err) {
      if (!isWalkoutError(err, 'FLOOR_PLAN_UNFIT')) throw err;
    }
  }
  throw new Error(`no floor plan fits the catalogue in ${ATTEMPTS} draws`);
}

function drawParams(rng: Rng, store: { storeId: string; name: string }): FloorPlanParams | null {
  const widthM = half(rng.range(10, 16));
  const depthM = half(rng.range(8, 12));
  const orientation = rng.pick(['ns', 'ew'] as const);
  const side: WallSide | null = rng.chance(0.1) ? null : rng.pick(['north', 'east', 'west'] as const);
  const x0 = side === 'west' ? WALL.depth : 0;
  const x1 = widthM - (side === 'east' ? WALL.depth : 0);
  const yTop = depthM - (side === 'north' ? WALL.depth : 0);
  const aisleM = tenth(rng.range(1.2, 2));
  const across = orientation === 'ns' ? x1 - x0 - 2 * SIDE_M : yTop - SIDE_M - FRONT_M;
  const along = orientation === 'ns' ? yTop - END_M - FRONT_M : x1 - x0 - 2 * END_M;
  const most = Math.min(5, Math.floor((across + aisleM) / (GONDOLA.depth + aisleM)));
  if (most < 2 || along < 2.4) return null;
  const count = rng.int(2, most);
  const lengthM = tenth(rng.range(2.4, Math.min(6, along)));
  const shelfLevels = rng.pick([3, 4, 4, 5]);
  // Plates 0.8–1.6 m wide (the reference's are 1.3 m), at least two to a shelf for the twins.
  const platesPerShelf = rng.int(
    Math.max(2, Math.ceil(lengthM / 1.6)),
    Math.max(2, Math.floor(lengthM / 0.8)),
  );
  let wallShelf: FloorPlanParams['wallShelf'] = null;
  if (side) {
    const room = side === 'north' ? widthM - 1.6 : depthM - FRONT_M - 0.8;
    const lengthW = tenth(rng.range(Math.min(3, room), Math.min(side === 'north' ? 8 : 6, room)));
    wallShelf = { side, lengthM: lengthW, plates: Math.max(2, Math.round(lengthW / rng.range(0.8, 1.2))) };
  }
  const entryM = tenth(rng.range(1, Math.max(1, widthM / 2 - 3)));
  const exitM = tenth(entryM + 1 + rng.range(0.6, 2));
  return {
    ...store,
    widthM,
    depthM,
    gondolas: { count, orientation, lengthM, aisleM },
    shelfLevels,
    platesPerShelf,
    wallShelf,
    gates: { entryM, exitM },
    planogramSeed: rng.int(1, 2 ** 30),
  };
}
