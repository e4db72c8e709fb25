import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { makeAppearance, STAFF_UNIFORM } from './appearance.ts';
import { referenceWorld } from './harness.ts';
import { gatePoint, gateSide } from './nav.ts';
import { dist3, headPoint, PLAN_REACH_M, shoulderFromHead, solveReach, UPRIGHT } from './pose.ts';
import { handTarget, StoreModel, standingSpot } from './store.ts';

const world = referenceWorld(1);
const store = new StoreModel(world.layout, world);

function insideFixture(x: number, y: number): boolean {
  return world.layout.fixtures.some(
    (f) => x >= f.box.minM[0] && x <= f.box.maxM[0] && y >= f.box.minM[1] && y <= f.box.maxM[1],
  );
}

describe('navigation', () => {
  it('keeps planned paths clear of fixtures and walls', () => {
    const rng = Rng.stream(1, 'nav-test');
    for (let k = 0; k < 200; k++) {
      const a = store.plates[rng.int(0, store.plates.length - 1)]!;
      const b = store.plates[rng.int(0, store.plates.length - 1)]!;
      const from = standingSpot(a, 0.42);
      const to = standingSpot(b, 0.42);
      const path = store.findPath(from, to);
      expect(path, `${a.id} -> ${b.id}`).not.toBeNull();
      let prev = from;
      for (const wp of path!) {
        for (let s = 0; s <= 20; s++) {
          const x = prev[0] + ((wp[0] - prev[0]) * s) / 20;
          const y = prev[1] + ((wp[1] - prev[1]) * s) / 20;
          expect(insideFixture(x, y)).toBe(false);
          expect(store.move.isFree(x, y)).toBe(true);
        }
        prev = wp;
      }
      expect(prev).toEqual(to);
    }
  });

  it('never plans through the gate line: the vestibule is reached only through a gate', () => {
    const outside = gatePoint(store.entry, 0, -0.45);
    const inside = gatePoint(store.entry, 0, 1.5);
    expect(gateSide(store.entry, outside[0], outside[1])).toBeLessThan(0);
    expect(store.plan.findPath(inside, outside)).toBeNull();
    expect(store.move.isFree(store.entry.mid[0], store.entry.mid[1])).toBe(false);
    expect(store.moveThroughGates.isFree(store.entry.mid[0], store.entry.mid[1])).toBe(true);
  });

  it('puts standing spots in front of each plate, on the side the shelf faces', () => {
    for (const p of store.plates) {
      const s = standingSpot(p, 0.42);
      expect(store.plan.isFree(s[0], s[1]), p.id).toBe(true);
      const [tx, ty] = [p.plate.centerM[0] - s[0], p.plate.centerM[1] - s[1]];
      expect(tx * p.normal[0] + ty * p.normal[1]).toBeLessThan(0);
      expect(
        Math.cos(p.faceHeadingRad) * -p.normal[0] + Math.sin(p.faceHeadingRad) * -p.normal[1],
      ).toBeCloseTo(1);
    }
  });

  it('finds the weight twins that share a shelf', () => {
    expect(store.twins('cola-330').map((p) => p.sku)).toContain('lemon-330');
    for (const t of store.twins('cola-330'))
      expect(Math.abs(t.unitWeightG - 352)).toBeLessThanOrEqual(0.03 * 352);
  });
});

describe('bodies', () => {
  it('reach every plate from the front, short or tall, crouching for the low shelves', () => {
    for (const heightM of [1.5, 1.95]) {
      const app = {
        ...makeAppearance(Rng.stream(2, 'a'), 'shopper'),
        heightM,
        shoulderWidthM: heightM * 0.24,
      };
      for (const p of store.plates) {
        for (const off of [0.35, 0.5]) {
          const s = standingSpot(p, off);
          const target = handTarget(p, s);
          const plan = solveReach(s[0], s[1], p.faceHeadingRad, app, target);
          expect(plan, `${p.id} at ${off} for ${heightM}`).not.toBeNull();
          const head = headPoint(s[0], s[1], p.faceHeadingRad, app, plan!.bend);
          expect(
            dist3(shoulderFromHead(head, p.faceHeadingRad, app, plan!.hand), target),
          ).toBeLessThanOrEqual(PLAN_REACH_M + 1e-9);
          if (p.surfaceZ < 0.3) expect(plan!.bend.dropM).toBeGreaterThan(0.3);
        }
      }
    }
    const app = makeAppearance(Rng.stream(3, 'a'), 'shopper');
    expect(solveReach(0, 0, 0, app, [1.2, 0, 1.0])).toBeNull();
    const upright = shoulderFromHead(headPoint(0, 0, 0, app, UPRIGHT), 0, app, 0);
    expect(upright[2]).toBeCloseTo(0.82 * app.heightM);
  });

  it('varies appearance and dresses staff in the uniform', () => {
    const rng = Rng.stream(4, 'people');
    const people = Array.from({ length: 300 }, () => makeAppearance(rng, 'shopper'));
    const heights = people.map((p) => p.heightM);
    expect(Math.min(...heights)).toBeGreaterThanOrEqual(1.5);
    expect(Math.max(...heights)).toBeLessThanOrEqual(1.95);
    expect(Math.max(...heights) - Math.min(...heights)).toBeGreaterThan(0.25);
    expect(new Set(people.map((p) => p.topColour)).size).toBeGreaterThan(10);
    expect(new Set(people.map((p) => p.hairStyle)).size).toBe(4);
    expect(people.some((p) => p.topColour === STAFF_UNIFORM.topColour)).toBe(false);
    const staff = makeAppearance(rng, 'staff');
    expect(staff.topColour).toBe(STAFF_UNIFORM.topColour);
    expect(staff.basket).toBe(true);
  });
});
