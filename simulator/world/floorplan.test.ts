import { describe, expect, it } from 'vitest';
import { cameraModel, inImage, layoutProblems, loadCatalog, loadLayout, project } from '../../proto/index.ts';
import { refusal } from '../../test/support/refusal.ts';
import { runCrowd, scenarioWith } from '../agents/harness.ts';
import { gatePoint } from '../agents/nav.ts';
import { StoreModel, standingSpot } from '../agents/store.ts';
import { Rng } from '../core/rng.ts';
import { type FloorPlanParams, floorPlan, REFERENCE_FLOOR_PLAN } from './floorplan.ts';
import { randomFloorPlan } from './floorplan-random.ts';
import { twinPairs } from './planogram.ts';
import { World } from './world.ts';

const reference = new URL('../../proto/stores/reference/', import.meta.url).pathname;
const catalog = loadCatalog(`${reference}catalog.json`);
const shipped = loadLayout(`${reference}layout.json`, catalog);

const handmade: FloorPlanParams[] = [
  {
    ...REFERENCE_FLOOR_PLAN,
    storeId: 'ew-east',
    widthM: 14,
    depthM: 11,
    gondolas: { count: 3, orientation: 'ew', lengthM: 5, aisleM: 1.3 },
    platesPerShelf: 4,
    wallShelf: { side: 'east', lengthM: 5, plates: 5 },
    gates: { entryM: 2, exitM: 4.5 },
    planogramSeed: 7,
    cameras: undefined,
  },
  {
    ...REFERENCE_FLOOR_PLAN,
    storeId: 'ns-five-bare',
    widthM: 16,
    depthM: 8,
    gondolas: { count: 5, orientation: 'ns', lengthM: 3.2, aisleM: 1.6 },
    shelfLevels: 5,
    platesPerShelf: 2,
    wallShelf: null,
    planogramSeed: 3,
    cameras: undefined,
  },
];
const generated = Array.from(
  { length: 10 },
  (_, s) =>
    randomFloorPlan(catalog, Rng.stream(s, 'floorplan-test'), { storeId: `t${s}`, name: 'test' }).layout,
);
const plans = [...handmade.map((p) => floorPlan(catalog, p)), ...generated];

type Box2 = { minM: readonly number[]; maxM: readonly number[] };
const overlaps = (a: Box2, b: Box2) =>
  a.minM[0]! < b.maxM[0]! && b.minM[0]! < a.maxM[0]! && a.minM[1]! < b.maxM[1]! && b.minM[1]! < a.maxM[1]!;

describe('floor plans', () => {
  it('makes the shipped reference store from the reference parameters', () => {
    expect(floorPlan(catalog, REFERENCE_FLOOR_PLAN)).toEqual(shipped);
    expect(twinPairs(catalog)).toHaveLength(8);
  });

  it('varies size, gondola count and orientation', () => {
    const gondolas = plans.map((l) => l.fixtures.filter((f) => f.kind === 'gondola'));
    expect(new Set(gondolas.map((g) => g.length)).size).toBeGreaterThanOrEqual(3);
    const ew = gondolas.filter((g) => g[0]!.box.maxM[0] - g[0]!.box.minM[0] > 1).length;
    expect(ew).toBeGreaterThan(0);
    expect(ew).toBeLessThan(plans.length);
    expect(new Set(plans.map((l) => JSON.stringify(l.floorPolygonM))).size).toBeGreaterThan(8);
  });

  it.each(plans.map((l) => [l.storeId, l] as const))('%s: is a valid, fully stocked store', (_, layout) => {
    expect(layoutProblems(layout, catalog)).toEqual([]);
    const stocked = new Set(layout.planogram.map((f) => f.sku));
    for (const item of catalog.items) expect(stocked.has(item.sku), item.sku).toBe(true);
    expect(layout.planogram).toHaveLength(layout.plates.length);
    const plate = new Map(layout.planogram.map((f) => [f.sku, f.plateId]));
    for (const [a, b] of twinPairs(catalog)) {
      const [pa, pb] = [plate.get(a.sku)!, plate.get(b.sku)!];
      const shelf = (id: string) => id.slice(0, id.lastIndexOf('-'));
      const k = (id: string) => Number(id.slice(id.lastIndexOf('P') + 1));
      expect(shelf(pa), `${a.sku} / ${b.sku}`).toBe(shelf(pb));
      expect(Math.abs(k(pa) - k(pb))).toBe(1);
    }
    for (const id of layout.cameras.map((c) => c.id)) expect(id).toMatch(/^cam-[1-9][1-9]$/);
  });

  it.each(plans.map((l) => [l.storeId, l] as const))(
    '%s: keeps fixtures apart and off the gates',
    (_, layout) => {
      const [, [W, D]] = [layout.floorPolygonM[0]!, layout.floorPolygonM[2]!];
      for (const [i, f] of layout.fixtures.entries()) {
        expect(f.box.minM[0]).toBeGreaterThanOrEqual(0);
        expect(f.box.minM[1]).toBeGreaterThanOrEqual(0);
        expect(f.box.maxM[0]).toBeLessThanOrEqual(W!);
        expect(f.box.maxM[1]).toBeLessThanOrEqual(D!);
        for (const g of layout.fixtures.slice(i + 1))
          expect(overlaps(f.box, g.box), `${f.id} ${g.id}`).toBe(false);
        for (const gate of layout.gates) {
          const [[ax, ay], [bx, by]] = gate.lineM;
          const line = {
            minM: [Math.min(ax, bx) - 0.5, Math.min(ay, by) - 0.5],
            maxM: [Math.max(ax, bx) + 0.5, Math.max(ay, by) + 0.5],
          };
          expect(overlaps(f.box, line), `${f.id} ${gate.id}`).toBe(false);
        }
      }
      const shelves = new Map(layout.shelves.map((s) => [s.id, s]));
      for (const p of layout.plates) {
        const s = shelves.get(p.shelfId)!;
        for (const a of [0, 1]) {
          expect(p.centerM[a]).toBeGreaterThanOrEqual(s.box.minM[a]!);
          expect(p.centerM[a]).toBeLessThanOrEqual(s.box.maxM[a]!);
        }
      }
    },
  );

  it.each(plans.map((l) => [l.storeId, l] as const))(
    '%s: every plate can be walked to from the entry',
    (_, layout) => {
      const store = new StoreModel(layout, new World(layout, catalog));
      const start = gatePoint(store.entry, 0, 1);
      expect(store.plan.isFree(start[0], start[1])).toBe(true);
      for (const p of store.plates) {
        const spot = standingSpot(p, 0.42);
        expect(store.plan.isFree(spot[0], spot[1]), p.id).toBe(true);
        const path = store.plan.findPath(start, spot);
        expect(path, p.id).not.toBeNull();
        expect(path!.at(-1)).toEqual(spot);
      }
    },
  );

  it.each(plans.map((l) => [l.storeId, l] as const))(
    '%s: sees every floor point from two cameras',
    (_, layout) => {
      const models = layout.cameras.map(cameraModel);
      const [W, D] = layout.floorPolygonM[2]!;
      for (let x = 0; x <= W + 1e-9; x += 0.2) {
        for (let y = 0; y <= D + 1e-9; y += 0.2) {
          const seen = models.filter((m) => {
            const q = project(m, [x, y, 0]);
            return q !== null && inImage(m, q);
          }).length;
          expect(seen, `(${x.toFixed(1)}, ${y.toFixed(1)})`).toBeGreaterThanOrEqual(2);
        }
      }
      for (const c of layout.cameras) {
        expect(c.positionM[2]).toBe(3);
        expect(c.lens).toEqual({ hfovDeg: 115 });
        expect(c.fps).toBe(10);
      }
    },
  );

  it('is deterministic', () => {
    expect(floorPlan(catalog, handmade[0]!)).toEqual(plans[0]);
    const again = randomFloorPlan(catalog, Rng.stream(3, 'floorplan-test'), { storeId: 't3', name: 'test' });
    expect(again.layout).toEqual(generated[3]);
  });

  it('refuses parameters that cannot fit, with FLOOR_PLAN_UNFIT', () => {
    const unfit = (over: Partial<FloorPlanParams>) =>
      refusal('FLOOR_PLAN_UNFIT', () => floorPlan(catalog, { ...REFERENCE_FLOOR_PLAN, ...over }));
    expect(unfit({ widthM: 10, gondolas: { ...REFERENCE_FLOOR_PLAN.gondolas, count: 5 } })).toMatch(
      /5 gondolas .* need/,
    );
    expect(unfit({ gondolas: { ...REFERENCE_FLOOR_PLAN.gondolas, count: 1 }, wallShelf: null })).toMatch(
      /cannot hold 63 catalogue SKUs/,
    );
    expect(unfit({ gondolas: { ...REFERENCE_FLOOR_PLAN.gondolas, aisleM: 0.8 } })).toMatch(/aisle/);
    expect(unfit({ gates: { entryM: 1, exitM: 1.5 } })).toMatch(/exit gate/);
    expect(unfit({ cameras: { cols: 2, rows: 1, spacingM: [6, 0] } })).toMatch(/camera grid/);
  });

  it('lets shoppers enter, shop and leave on generated floors', () => {
    for (const layout of [plans[0]!, generated[1]!]) {
      const world = new World(layout, catalog);
      world.stockAll(Rng.stream(1, 'stock'));
      const scenario = scenarioWith({ arrivals: { shoppersPerHour: 240 } });
      const { crowd } = runCrowd({ seed: 1, scenario, arrivalsForMs: 90_000, world, maxMs: 15 * 60_000 });
      expect(crowd.stats.entered, layout.storeId).toBeGreaterThanOrEqual(3);
      expect(crowd.stats.picks, layout.storeId).toBeGreaterThan(0);
      expect(crowd.stats.exited, layout.storeId).toBe(crowd.stats.entered);
      expect(crowd.stats.gaveUp, layout.storeId).toBe(0);
    }
  });
});
