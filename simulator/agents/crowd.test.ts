import { describe, expect, it } from 'vitest';
import { TWIN_TOLERANCE } from '../world/planogram.ts';
import type { TruthEvent } from '../world/types.ts';
import { cartOf, type World } from '../world/world.ts';
import { STAFF_UNIFORM } from './appearance.ts';
import { DelayGate, type RunResult, runCrowd, scenarioWith } from './harness.ts';
import { dist3, MAX_REACH_M, shoulderM } from './pose.ts';

const MIN = 60_000;

interface Checks {
  torsoInFixture: number;
  maxReachM: number;
  weightDrift: number;
  carriedOut: Map<string, string[]>;
  /** Picks, put-backs and restocks made with no hand at the plate. */
  handsAway: string[];
  /** Hand-overs made with the two hands apart. */
  handoffGapM: number;
  /** Torso distance between a tailgater and the person ahead as it crosses. */
  tailgateGapM: number;
  /** Persons who first appeared anywhere but the vestibule. */
  badSpawns: number;
}

function handOnPlate(world: World, personId: string, plateId: string): boolean {
  const plate = world.layout.plates.find((p) => p.id === plateId)!;
  const shelf = world.layout.shelves.find((s) => s.id === plate.shelfId)!;
  const alongX = shelf.facing === '-y' || shelf.facing === '+y';
  const [w, d] = plate.sizeM;
  const [hx, hy] = alongX ? [w / 2, d / 2] : [d / 2, w / 2];
  return world
    .person(personId)
    .hands.some(
      (h) =>
        Math.abs(h.posM[0] - plate.centerM[0]) <= hx + 0.02 &&
        Math.abs(h.posM[1] - plate.centerM[1]) <= hy + 0.02 &&
        h.posM[2] >= plate.centerM[2] &&
        h.posM[2] <= plate.centerM[2] + 0.1,
    );
}

/** Runs a crowd while checking the per-step invariants. */
function checkedRun(
  seed: number,
  scenario: ReturnType<typeof scenarioWith>,
  arrivalsForMs: number,
  fill = 1,
  gate?: DelayGate,
) {
  const checks: Checks = {
    torsoInFixture: 0,
    maxReachM: 0,
    weightDrift: 0,
    carriedOut: new Map(),
    handsAway: [],
    handoffGapM: 0,
    tailgateGapM: 0,
    badSpawns: 0,
  };
  let patched = false;
  let seenEvents = 0;
  const seenPersons = new Set<string>();
  const result = runCrowd({
    seed,
    scenario,
    arrivalsForMs,
    fill,
    gate,
    onStep: (world) => {
      if (!patched) {
        patched = true;
        const exit = world.exit.bind(world);
        world.exit = (personId, gateId, tsMs) => {
          const person = world.person(personId);
          const list = checks.carriedOut.get(person.visitId) ?? [];
          list.push(...world.carried(person).map((i) => i.itemId));
          checks.carriedOut.set(person.visitId, list);
          exit(personId, gateId, tsMs);
        };
      }
      checks.weightDrift = Math.max(
        checks.weightDrift,
        Math.abs(world.totalItemWeightG() - world.madeWeightG),
      );
      for (; seenEvents < world.truth.length; seenEvents++) {
        const e = world.truth[seenEvents]!;
        if (
          (e.type === 'pick' || e.type === 'putback' || e.type === 'restock') &&
          !handOnPlate(world, e.personId, e.plateId)
        ) {
          checks.handsAway.push(`${e.type} ${e.personId} ${e.plateId}`);
        }
        if (e.type === 'handoff') {
          const a = world.person(e.fromPersonId).hands;
          const b = world.person(e.toPersonId).hands;
          checks.handoffGapM = Math.max(
            checks.handoffGapM,
            Math.min(...a.flatMap((x) => b.map((y) => dist3(x.posM, y.posM)))),
          );
        }
        if (e.type === 'tailgate') {
          const a = world.person(e.personId).posM;
          const b = world.person(e.behindPersonId).posM;
          checks.tailgateGapM = Math.max(checks.tailgateGapM, Math.hypot(a[0] - b[0], a[1] - b[1]));
        }
      }
      for (const p of world.persons.values()) {
        if (seenPersons.has(p.personId)) continue;
        seenPersons.add(p.personId);
        if (!p.present || p.inStore || p.posM[1] >= 1 || p.posM[1] <= 0) checks.badSpawns += 1;
      }
      for (const p of world.persons.values()) {
        if (!p.present) continue;
        for (const f of world.layout.fixtures) {
          const [x, y] = p.posM;
          if (x > f.box.minM[0] && x < f.box.maxM[0] && y > f.box.minM[1] && y < f.box.maxM[1])
            checks.torsoInFixture += 1;
        }
        for (const h of [0, 1] as const)
          checks.maxReachM = Math.max(checks.maxReachM, dist3(p.hands[h].posM, shoulderM(p, h)));
      }
    },
  });
  return { ...result, checks };
}

function count(truth: TruthEvent[], type: TruthEvent['type']): number {
  return truth.filter((e) => e.type === type).length;
}

/** Every visit that entered closed, with the cart its members carried out. */
function expectVisitsClosed(r: RunResult, checks: Checks): void {
  const { world } = r;
  const closed = new Map(
    world.truth.flatMap((e) => (e.type === 'visit-closed' ? [[e.visitId, e] as const] : [])),
  );
  for (const v of world.visits.values()) {
    if (v.enteredMs === null) continue;
    expect(v.closedMs, `visit ${v.visitId} closed`).not.toBeNull();
    const ids = new Set(checks.carriedOut.get(v.visitId) ?? []);
    const items = world.departed.filter((i) => ids.has(i.itemId));
    expect(items.length).toBe(ids.size);
    expect(closed.get(v.visitId)?.cart).toEqual(cartOf(items));
  }
  for (const p of world.persons.values()) {
    expect(p.present, `${p.personId} gone`).toBe(false);
    expect(p.inStore).toBe(false);
  }
}

/** Shoppers' carts from the ground truth alone: picks, minus put-backs, moved by hand-overs. */
function truthCarts(world: World): Map<string, Map<string, number>> {
  const carts = new Map<string, Map<string, number>>();
  const add = (visitId: string, sku: string, n: number) => {
    const c = carts.get(visitId) ?? new Map<string, number>();
    c.set(sku, (c.get(sku) ?? 0) + n);
    carts.set(visitId, c);
  };
  for (const e of world.truth) {
    if (e.type === 'pick') add(e.visitId, e.sku, e.quantity);
    if (e.type === 'putback') add(e.visitId, e.sku, -e.quantity);
    if (e.type === 'handoff') {
      add(e.fromVisitId, e.sku, -e.itemIds.length);
      add(e.toVisitId, e.sku, e.itemIds.length);
    }
  }
  return carts;
}

const lively = scenarioWith({
  arrivals: {
    shoppersPerHour: 240,
    groupProbability: 0.5,
    groupSize: [2, 3],
    tailgateProbability: 0.3,
    staffVisitsPerHour: 12,
  },
  behaviour: {
    multiPickProbability: 0.5,
    putBackProbability: 0.5,
    misplacedProbability: 0.6,
    misplacedOnTwinProbability: 0.6,
    handoffProbability: 0.6,
    leanProbability: 0.5,
    popularity: 0.8,
  },
});

describe('Crowd', () => {
  it('runs an ordinary morning: everyone leaves, carts match, weight is conserved, bodies stay out of fixtures', () => {
    const r = checkedRun(11, scenarioWith(), 15 * MIN);
    const { world, crowd, checks } = r;
    expect(crowd.stats.entered).toBeGreaterThan(10);
    expect(crowd.idle(r.endMs)).toBe(true);
    expect(checks.torsoInFixture).toBe(0);
    expect(checks.maxReachM).toBeLessThanOrEqual(0.8);
    expect(checks.weightDrift).toBeLessThan(1e-6);
    expect(checks.handsAway).toEqual([]);
    expect(checks.badSpawns).toBe(0);
    expect(count(world.truth, 'enter')).toBe(count(world.truth, 'exit'));
    expectVisitsClosed(r, checks);
    const fromTruth = truthCarts(world);
    for (const e of world.truth) {
      if (e.type !== 'visit-closed') continue;
      const expected = [...(fromTruth.get(e.visitId) ?? new Map<string, number>())]
        .filter(([, n]) => n !== 0)
        .sort(([a], [b]) => a.localeCompare(b));
      expect(e.cart.map((l) => [l.sku, l.quantity])).toEqual(expected);
    }
  });

  it('produces every behaviour when its probability is raised', () => {
    const r = checkedRun(5, lively, 15 * MIN, 0.45);
    const { world, crowd, checks } = r;
    const t = world.truth;
    expect(checks.torsoInFixture).toBe(0);
    expect(checks.maxReachM).toBeLessThanOrEqual(MAX_REACH_M + 1e-9);
    expect(checks.weightDrift).toBeLessThan(1e-6);
    expect(checks.handsAway).toEqual([]);
    expect(checks.badSpawns).toBe(0);
    expect(checks.handoffGapM).toBeLessThan(0.1);
    expect(checks.tailgateGapM).toBeLessThan(0.6);
    expectVisitsClosed(r, checks);
    expect(count(t, 'pick')).toBeGreaterThan(50);
    expect(t.some((e) => e.type === 'pick' && e.quantity > 1)).toBe(true);
    expect(t.filter((e) => e.type === 'putback' && !e.misplaced).length).toBeGreaterThan(0);
    const misplaced = t.filter((e) => e.type === 'putback' && e.misplaced);
    expect(misplaced.length).toBeGreaterThan(0);
    const onTwin = misplaced.filter((e) => {
      if (e.type !== 'putback') return false;
      const plateSku = world.planogramSku.get(e.plateId)!;
      const w = world.skus.get(e.sku)!.unitWeightG.mean;
      return Math.abs(world.skus.get(plateSku)!.unitWeightG.mean - w) <= TWIN_TOLERANCE * w;
    });
    expect(onTwin.length).toBeGreaterThan(0);
    expect(count(t, 'handoff')).toBeGreaterThan(0);
    for (const e of t) if (e.type === 'handoff') expect(e.fromVisitId).toBe(e.toVisitId);
    expect(count(t, 'tailgate')).toBeGreaterThan(0);
    for (const e of t) {
      if (e.type !== 'tailgate') continue;
      expect(world.visit(e.visitId).kind).toBe('tailgater');
      const enter = t.find((x) => x.type === 'enter' && x.personId === e.personId);
      expect(enter?.type === 'enter' && enter.scanId).toBe(null);
    }
    expect(count(t, 'restock')).toBeGreaterThan(0);
    for (const e of t) {
      if (e.type !== 'restock') continue;
      expect(world.visit(e.visitId).kind).toBe('staff');
      expect(world.person(e.personId).role).toBe('staff');
      expect(world.person(e.personId).appearance.topColour).toBe(STAFF_UNIFORM.topColour);
    }
    // Groups: members share the visit, each entered on its own scan of the payer's one code.
    const groups = [...world.visits.values()].filter(
      (v) => v.kind === 'shopper' && v.memberIds.length > 1 && v.enteredMs !== null,
    );
    expect(groups.length).toBeGreaterThan(0);
    for (const v of groups) {
      const scans = t
        .filter((e) => e.type === 'enter' && e.visitId === v.visitId)
        .map((e) => (e.type === 'enter' ? e.scanId : null));
      expect(new Set(scans).size).toBe(scans.length);
      const qrs = r.gate.scans.filter((s) => scans.includes(s.scanId)).map((s) => s.qr);
      expect(new Set(qrs)).toEqual(new Set([v.qr]));
    }
    expect(crowd.stats.reachPast).toBeGreaterThan(0);
  });

  it('produces none of the optional behaviours when their probabilities are 0', () => {
    const r = checkedRun(
      7,
      scenarioWith({
        arrivals: {
          shoppersPerHour: 200,
          groupProbability: 0.5,
          tailgateProbability: 0,
          staffVisitsPerHour: 0,
        },
        behaviour: {
          multiPickProbability: 0,
          putBackProbability: 0,
          handoffProbability: 0,
          leanProbability: 0,
        },
      }),
      10 * MIN,
    );
    const t = r.world.truth;
    expect(count(t, 'pick')).toBeGreaterThan(20);
    for (const type of ['putback', 'handoff', 'tailgate', 'restock'] as const) expect(count(t, type)).toBe(0);
    expect(t.some((e) => e.type === 'pick' && e.quantity > 1)).toBe(false);
    expect(r.crowd.stats.leans).toBe(0);
    expectVisitsClosed(r, r.checks);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const run = (seed: number) =>
      JSON.stringify(runCrowd({ seed, scenario: lively, arrivalsForMs: 5 * MIN, fill: 0.45 }).world.truth);
    const a = run(3);
    expect(run(3)).toBe(a);
    expect(run(4)).not.toBe(a);
  });

  it('turns away a denied party without entering it', () => {
    const gate = new DelayGate(300, (n) => n % 2 === 0);
    const r = checkedRun(
      9,
      scenarioWith({ arrivals: { shoppersPerHour: 300, groupProbability: 0 } }),
      5 * MIN,
      1,
      gate,
    );
    expect(r.crowd.stats.denied).toBeGreaterThan(0);
    expect(r.crowd.stats.entered).toBeGreaterThan(0);
    const entered = new Set(r.world.truth.flatMap((e) => (e.type === 'enter' ? [e.personId] : [])));
    for (const s of r.gate.scans.filter((_, i) => i % 2 === 0)) expect(entered.has(s.personId)).toBe(false);
    expectVisitsClosed(r, r.checks);
  });

  it('waits for an app that answers later', async () => {
    const { Crowd } = await import('./crowd.ts');
    const { referenceWorld, START_MS } = await import('./harness.ts');
    const world = referenceWorld(1);
    const gate = new DelayGate();
    const crowd = new Crowd({
      world,
      scenario: scenarioWith({ arrivals: { shoppersPerHour: 60, groupProbability: 0 } }),
      seed: 1,
      app: {
        requestEntryCode: ({ visitId }) =>
          new Promise((resolve) => setTimeout(() => resolve(`QR:${visitId}`), 5)),
      },
      gates: gate,
      arrivalsUntilMs: 1000,
      startMs: START_MS,
    });
    let t = START_MS;
    for (let i = 0; i < 200 && !crowd.idle(t); i++, t += 50) {
      gate.now = t;
      crowd.step(t, 50);
      if (i < 40) await new Promise((r) => setTimeout(r, 1));
      if (i === 0) expect(world.truth.length).toBe(0);
    }
    expect(world.truth.some((e) => e.type === 'enter')).toBe(true);
  });
});
