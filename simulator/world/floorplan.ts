import { type Catalog, cameraModel, inImage, project, StoreLayout, WalkoutError } from '../../proto/index.ts';
import { type PlateSlot, planogram, planogramProblem } from './planogram.ts';

/**
 * Store floor plans from a handful of parameters: a rectangular floor entered from the south wall
 * (y = 0) through a vestibule, a block of double-sided gondolas, an optional wall shelf, a
 * planogram and an overhead camera grid. Pure: the same parameters give the same layout, and the
 * reference store is `floorPlan(catalog, REFERENCE_FLOOR_PLAN)`.
 *
 * Clearances come from what the simulator's shoppers need: the gate line is a barrier 1 m in from
 * the entrance wall (simulator/agents/nav.ts), people step in, wait and queue for the exit in the
 * 2 m in front of it (agents/shopper.ts, agents/gate.ts), and they stand up to 0.5 m off a shelf
 * with 0.3 m kept from anything, so an aisle narrower than 1.1 m has no standing spots.
 */

export type GondolaOrientation = 'ns' | 'ew';
export type WallSide = 'north' | 'east' | 'west';

export interface CameraGrid {
  cols: number;
  rows: number;
  /** Between columns (x) and rows (y); the grid is centred on the floor. */
  spacingM: [number, number];
  heightM?: number;
  hfovDeg?: number;
}

export interface FloorPlanParams {
  storeId: string;
  name: string;
  /** East–west (x) and north–south (y) size of the floor. */
  widthM: number;
  depthM: number;
  gondolas: {
    count: number;
    /** 'ns': gondolas run north–south, faces east and west; 'ew': they run east–west. */
    orientation: GondolaOrientation;
    lengthM: number;
    /** Clear width between neighbouring gondolas. */
    aisleM: number;
    /** Where the run begins along its length (y for 'ns', x for 'ew'); default centred. */
    startM?: number;
  };
  shelfLevels: number;
  /** Plates side by side on each gondola shelf. */
  platesPerShelf: number;
  wallShelf: { side: WallSide; lengthM: number; plates: number } | null;
  /** Where the gates' west posts stand along the entrance wall; the exit is east of the entry. */
  gates: { entryM: number; exitM: number; widthM?: number };
  /** Null: catalogue order (the reference planogram); a number shuffles it. */
  planogramSeed: number | null;
  /** Default: the smallest grid that sees every floor point from two cameras. */
  cameras?: CameraGrid;
}

export const REFERENCE_FLOOR_PLAN: FloorPlanParams = {
  storeId: 'ref-001',
  name: 'Walkout reference convenience store',
  widthM: 12,
  depthM: 9,
  gondolas: { count: 4, orientation: 'ns', lengthM: 2.6, aisleM: 1.4, startM: 3 },
  shelfLevels: 4,
  platesPerShelf: 2,
  wallShelf: { side: 'north', lengthM: 4, plates: 4 },
  gates: { entryM: 1, exitM: 3 },
  planogramSeed: null,
  cameras: { cols: 4, rows: 2, spacingM: [3, 4.2] },
};

const CEILING_M = 3.2;
const GATE_LINE_M = 1;
/** Fixtures begin this far from the entrance wall. */
export const FRONT_M = 3;
/** From a gondola's outer face to a wall, and across the ends of a run. */
export const SIDE_M = 1;
export const END_M = 1.2;
const MIN_AISLE_M = 1.1;
export const GONDOLA = { depth: 0.9, height: 1.8 };
export const WALL = { depth: 0.45, height: 1.9, cornerM: 0.8 };
const SHELF = { lowM: 0.15, topM: 1.5, clearM: 0.4 };
const MIN_PLATE_M = 0.4;
const CAMERA = { heightM: 3, hfovDeg: 115, width: 640, height: 480, fps: 10 };
/** An automatic grid must see two cameras this far past the walls: rigs are installed imprecisely. */
const AUTO_GRID_MARGIN_M = 0.3;

type Box = StoreLayout['fixtures'][number]['box'];

/** The store a set of parameters describes, validated; throws FLOOR_PLAN_UNFIT when they cannot fit. */
export function floorPlan(catalog: Catalog, params: FloorPlanParams): StoreLayout {
  const problems = paramProblems(params);
  const unfit = (reasons: string[]) =>
    new WalkoutError('FLOOR_PLAN_UNFIT', `${params.storeId}: ${reasons.join('; ')}`, {
      storeId: params.storeId,
      reasons,
    });
  if (problems.length > 0) throw unfit(problems);
  const { widthM: W, depthM: D } = params;
  const fixtures: StoreLayout['fixtures'] = [];
  const shelves: StoreLayout['shelves'] = [];
  const plates: StoreLayout['plates'] = [];
  const slots: PlateSlot[] = [];
  const levels = shelfLevels(params.shelfLevels);
  const addPlates = (
    shelfId: string,
    fixtureId: string,
    facing: string,
    level: number,
    wall: boolean,
    n: number,
    [a0, a1]: [number, number],
    across: number,
    alongX: boolean,
    z: number,
  ) => {
    const w = (a1 - a0) / n;
    for (let k = 0; k < n; k++) {
      const plateId = `${shelfId}-P${k + 1}`;
      const along = round(a0 + w * (k + 0.5));
      plates.push({
        id: plateId,
        shelfId,
        centerM: alongX ? [along, across, z] : [across, along, z],
        sizeM: [round(w - 0.02), 0.41],
        capacityG: 20000,
        sampleRateHz: 60,
      });
      slots.push({ plateId, shelfId, fixtureId, facing, level, k, widthM: w, wall });
    }
  };

  const g = gondolaBlock(params);
  const ns = params.gondolas.orientation === 'ns';
  g.centres.forEach((c, i) => {
    const id = `G${i + 1}`;
    const half = GONDOLA.depth / 2;
    const [a0, a1] = g.along;
    const box: Box = ns
      ? { minM: [c - half, a0, 0], maxM: [c + half, a1, GONDOLA.height] }
      : { minM: [a0, c - half, 0], maxM: [a1, c + half, GONDOLA.height] };
    fixtures.push({ id, kind: 'gondola', box });
    for (const facing of ns ? (['-x', '+x'] as const) : (['-y', '+y'] as const)) {
      const low = facing.startsWith('-');
      const f0 = low ? c - half : c;
      levels.forEach(([z, h], s) => {
        const shelfId = `${id}${ns ? (low ? 'W' : 'E') : low ? 'S' : 'N'}${s + 1}`;
        const b: Box = ns
          ? { minM: [f0, a0, z], maxM: [f0 + half, a1, z + h] }
          : { minM: [a0, f0, z], maxM: [a1, f0 + half, z + h] };
        shelves.push({ id: shelfId, fixtureId: id, facing, box: b });
        const across = round(f0 + GONDOLA.depth / 4);
        addPlates(shelfId, id, facing, s, false, params.platesPerShelf, g.along, across, !ns, z);
      });
    }
  });

  const wall = wallShelf(params);
  if (wall) {
    const { box, facing, along, alongX } = wall;
    fixtures.push({ id: 'W1', kind: 'wall-shelf', box });
    levels.forEach(([z, h], s) => {
      const shelfId = `W1S${s + 1}`;
      const b: Box = { minM: [box.minM[0], box.minM[1], z], maxM: [box.maxM[0], box.maxM[1], z + h] };
      shelves.push({ id: shelfId, fixtureId: 'W1', facing, box: b });
      const across = alongX ? round((box.minM[1] + box.maxM[1]) / 2) : round((box.minM[0] + box.maxM[0]) / 2);
      addPlates(shelfId, 'W1', facing, s, true, params.wallShelf!.plates, along, across, alongX, z);
    });
  }

  const stocking = planogramProblem(catalog, slots);
  if (stocking) throw unfit([stocking]);
  const grid = params.cameras ?? autoCameraGrid(W, D);
  const cameras = cameraGrid(W, D, grid);
  const seen = minCoverage(cameras, W, D, 0);
  if (seen < 2) throw unfit([`the camera grid sees some floor from ${seen} camera(s), not 2`]);
  const { entryM, exitM, widthM: gw = 1 } = params.gates;
  const gate = (kind: 'entry' | 'exit', x: number) => ({
    id: `gate-${kind === 'entry' ? 'in' : 'out'}`,
    kind,
    lineM: [
      [x, GATE_LINE_M],
      [x + gw, GATE_LINE_M],
    ],
    scannerId: `scanner-${kind === 'entry' ? 'in' : 'out'}`,
    sensorId: `beam-${kind === 'entry' ? 'in' : 'out'}`,
  });
  return StoreLayout.parse({
    schemaVersion: 1,
    storeId: params.storeId,
    name: params.name,
    floorPolygonM: [
      [0, 0],
      [W, 0],
      [W, D],
      [0, D],
    ],
    ceilingHeightM: CEILING_M,
    fixtures,
    shelves,
    plates,
    planogram: planogram(catalog, slots, params.planogramSeed),
    cameras,
    gates: [gate('entry', entryM), gate('exit', exitM)],
  });
}

/** Shelf surfaces from 0.15 m to 1.5 m (what a shopper reaches), with their usable heights. */
function shelfLevels(n: number): [number, number][] {
  const step = (SHELF.topM - SHELF.lowM) / (n - 1);
  const h = round(Math.min(SHELF.clearM, step - 0.05));
  return Array.from({ length: n }, (_, i) => [round(SHELF.lowM + i * step), h]);
}

/** Space left for gondolas: the floor less the wall shelf, as [x0, x1, yTop]. */
function freeFloor(p: FloorPlanParams): [number, number, number] {
  const side = p.wallShelf?.side;
  return [
    side === 'west' ? WALL.depth : 0,
    p.widthM - (side === 'east' ? WALL.depth : 0),
    p.depthM - (side === 'north' ? WALL.depth : 0),
  ];
}

function gondolaBlock(p: FloorPlanParams): { centres: number[]; along: [number, number] } {
  const { count, lengthM, aisleM, startM } = p.gondolas;
  const [x0, x1, yTop] = freeFloor(p);
  const block = count * GONDOLA.depth + (count - 1) * aisleM;
  const ns = p.gondolas.orientation === 'ns';
  // Across the run: centred between the sides ('ns') or between the front zone and the back ('ew').
  const across0 = ns ? (x0 + x1) / 2 - block / 2 : (FRONT_M + yTop - SIDE_M) / 2 - block / 2;
  const [lo, hi] = ns ? [FRONT_M, yTop - END_M] : [x0 + END_M, x1 - END_M];
  const a0 = round(startM ?? (lo + hi) / 2 - lengthM / 2);
  const centres = Array.from({ length: count }, (_, i) =>
    round(across0 + GONDOLA.depth / 2 + i * (GONDOLA.depth + aisleM)),
  );
  return { centres, along: [a0, round(a0 + lengthM)] };
}

function wallShelf(p: FloorPlanParams) {
  if (!p.wallShelf) return null;
  const { side, lengthM } = p.wallShelf;
  const { widthM: W, depthM: D } = p;
  if (side === 'north') {
    const along: [number, number] = [round(W / 2 - lengthM / 2), round(W / 2 + lengthM / 2)];
    const box: Box = { minM: [along[0], round(D - WALL.depth), 0], maxM: [along[1], D, WALL.height] };
    return { box, facing: '-y' as const, along, alongX: true };
  }
  const mid = (FRONT_M + D) / 2;
  const along: [number, number] = [round(mid - lengthM / 2), round(mid + lengthM / 2)];
  const [x0, x1] = side === 'east' ? [round(W - WALL.depth), W] : [0, WALL.depth];
  const box: Box = { minM: [x0, along[0], 0], maxM: [x1, along[1], WALL.height] };
  return { box, facing: side === 'east' ? ('-x' as const) : ('+x' as const), along, alongX: false };
}

/** Everything wrong with a set of parameters before anything is built. */
export function paramProblems(p: FloorPlanParams): string[] {
  const out: string[] = [];
  const { widthM: W, depthM: D } = p;
  const { count, lengthM, aisleM, startM } = p.gondolas;
  if (!(W >= 6 && W <= 40 && D >= 6 && D <= 40)) out.push(`floor ${W} × ${D} m is outside 6–40 m`);
  if (!Number.isInteger(count) || count < 1 || count > 12) out.push(`gondola count ${count} is not 1–12`);
  if (!Number.isInteger(p.shelfLevels) || p.shelfLevels < 2 || p.shelfLevels > 5)
    out.push(`shelf levels ${p.shelfLevels} is not 2–5`);
  if (!Number.isInteger(p.platesPerShelf) || p.platesPerShelf < 1)
    out.push(`plates per shelf ${p.platesPerShelf} is not a positive whole number`);
  else if (lengthM / p.platesPerShelf < MIN_PLATE_M)
    out.push(`${p.platesPerShelf} plates do not fit on a ${lengthM} m shelf`);
  if (aisleM < MIN_AISLE_M) out.push(`aisle ${aisleM} m is narrower than ${MIN_AISLE_M} m`);
  if (out.length > 0) return out;
  const [x0, x1, yTop] = freeFloor(p);
  const ns = p.gondolas.orientation === 'ns';
  const block = count * GONDOLA.depth + (count - 1) * aisleM;
  const acrossRoom = ns ? x1 - x0 - 2 * SIDE_M : yTop - SIDE_M - FRONT_M;
  if (block > acrossRoom + 1e-9)
    out.push(
      `${count} gondolas with ${aisleM} m aisles need ${round(block)} m across, the floor leaves ${round(acrossRoom)} m`,
    );
  const [lo, hi] = ns ? [FRONT_M, yTop - END_M] : [x0 + END_M, x1 - END_M];
  const a0 = startM ?? (lo + hi) / 2 - lengthM / 2;
  if (a0 < lo - 1e-9 || a0 + lengthM > hi + 1e-9)
    out.push(
      `gondolas ${lengthM} m long from ${round(a0)} m do not fit between ${round(lo)} and ${round(hi)} m`,
    );
  if (p.wallShelf) {
    const { side, lengthM: wl, plates } = p.wallShelf;
    const room = side === 'north' ? W - 2 * WALL.cornerM : D - FRONT_M - WALL.cornerM;
    if (wl > room + 1e-9)
      out.push(`a ${wl} m wall shelf does not fit on the ${side} wall (${round(room)} m)`);
    if (!Number.isInteger(plates) || plates < 1 || wl / plates < MIN_PLATE_M)
      out.push(`${plates} plates do not fit on a ${wl} m wall shelf`);
  }
  const { entryM, exitM, widthM: gw = 1 } = p.gates;
  // Waiting spots reach 1.15 m west of the entry's middle; the exit queue runs east of the exit.
  if (gw < 0.8 || gw > 2) out.push(`gate width ${gw} m is not 0.8–2 m`);
  if (entryM < 1) out.push(`the entry gate at ${entryM} m leaves no room to wait west of it`);
  if (exitM < entryM + gw + 0.5) out.push(`the exit gate at ${exitM} m is not east of the entry`);
  if (exitM + gw > W - 1) out.push(`the exit gate at ${exitM} m is too near the east wall`);
  if (
    p.cameras &&
    !(p.cameras.cols >= 1 && p.cameras.cols <= 9 && p.cameras.rows >= 1 && p.cameras.rows <= 9)
  )
    out.push('a camera grid has 1–9 columns and rows (ids are cam-<row><col>)');
  return out;
}

function cameraGrid(W: number, D: number, g: CameraGrid): StoreLayout['cameras'] {
  const cameras: StoreLayout['cameras'] = [];
  for (let i = 0; i < g.cols; i++) {
    for (let j = 0; j < g.rows; j++) {
      cameras.push({
        id: `cam-${j + 1}${i + 1}`,
        positionM: [
          round(W / 2 + (i - (g.cols - 1) / 2) * g.spacingM[0]),
          round(D / 2 + (j - (g.rows - 1) / 2) * g.spacingM[1]),
          g.heightM ?? CAMERA.heightM,
        ],
        yawDeg: 0,
        pitchDeg: 0,
        rollDeg: 0,
        resolution: { width: CAMERA.width, height: CAMERA.height },
        lens: { hfovDeg: g.hfovDeg ?? CAMERA.hfovDeg },
        fps: CAMERA.fps,
      });
    }
  }
  return cameras;
}

/** The fewest cameras, one per cell of an even grid, that see every floor point (and a margin) twice. */
export function autoCameraGrid(W: number, D: number): CameraGrid {
  for (let n = 2; n <= 81; n++) {
    for (let cols = 1; cols <= 9; cols++) {
      const rows = n / cols;
      if (!Number.isInteger(rows) || rows > 9) continue;
      const grid: CameraGrid = { cols, rows, spacingM: [round(W / cols), round(D / rows)] };
      if (minCoverage(cameraGrid(W, D, grid), W, D, AUTO_GRID_MARGIN_M) >= 2) return grid;
    }
  }
  throw new WalkoutError(
    'FLOOR_PLAN_UNFIT',
    `no camera grid of up to 81 cameras covers a ${W} × ${D} m floor`,
  );
}

/** The fewest cameras that see a floor point (z = 0), over a 0.25 m grid of the floor grown by `marginM`. */
export function minCoverage(
  cameras: StoreLayout['cameras'],
  W: number,
  D: number,
  marginM: number,
  stepM = 0.25,
): number {
  const models = cameras.map(cameraModel);
  const nx = Math.ceil((W + 2 * marginM) / stepM);
  const ny = Math.ceil((D + 2 * marginM) / stepM);
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i <= nx; i++) {
    for (let j = 0; j <= ny; j++) {
      const p: [number, number, number] = [
        -marginM + (i * (W + 2 * marginM)) / nx,
        -marginM + (j * (D + 2 * marginM)) / ny,
        0,
      ];
      let seen = 0;
      for (const m of models) {
        const q = project(m, p);
        if (q && inImage(m, q)) seen++;
      }
      least = Math.min(least, seen);
    }
  }
  return least;
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
