import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createOfflineApp } from '../io/offline-app.ts';
import { Engine, type FaultEvent } from '../run/engine.ts';
import type { TruthEvent } from '../world/types.ts';
import { loadScenario } from './load.ts';

interface Outcome {
  truth: TruthEvent[];
  faults: FaultEvent[];
  maxInside: number;
  engine: Engine;
}

function play(name: string, minutes: number, seed = 1): Outcome {
  const loaded = loadScenario(name);
  const app = createOfflineApp(loaded.layout.storeId, 'scenario-test');
  const engine = new Engine({
    ...loaded,
    seed,
    app,
    authority: { kind: 'local', verify: app.verify },
    minutes,
  });
  const truth: TruthEvent[] = [];
  const faults: FaultEvent[] = [];
  let maxInside = 0;
  while (!engine.done()) {
    const r = engine.step();
    truth.push(...r.truth);
    faults.push(...r.faults);
    maxInside = Math.max(maxInside, engine.persons().filter((p) => p.inStore).length);
  }
  return { truth, faults, maxInside, engine };
}

const count = (o: Outcome, pred: (e: TruthEvent) => boolean) => o.truth.filter(pred).length;

// Each shipped scenario must produce the hard case its documentation promises, not just load.
describe('shipped scenarios', () => {
  it('ships the six documented scenarios, each valid', () => {
    const names = readdirSync(new URL('../scenarios/', import.meta.url)).map((f) => f.replace(/\.json$/, ''));
    expect(names.sort()).toEqual([
      'baseline',
      'crowded',
      'groups-and-handoffs',
      'misplaced-putbacks',
      'sensor-faults',
      'weight-twins',
    ]);
    for (const n of names) expect(loadScenario(n).scenario.name).toBe(n);
  });

  it('crowded fills the store and puts several shoppers at one shelf', () => {
    const o = play('crowded', 6);
    expect(o.maxInside).toBeGreaterThanOrEqual(25);
    // Picks from one plate by different people within ten seconds of each other.
    const picks = o.truth.filter((e) => e.type === 'pick');
    const close = picks.filter((a, i) =>
      picks.some(
        (b, j) =>
          j !== i &&
          b.plateId === a.plateId &&
          b.personId !== a.personId &&
          Math.abs(b.tsMs - a.tsMs) < 10_000,
      ),
    );
    expect(close.length).toBeGreaterThan(5);
  });

  it('weight-twins puts items back next to their weight twin', () => {
    const o = play('weight-twins', 6);
    const world = o.engine.world;
    const onTwin = o.truth.filter((e) => {
      if (e.type !== 'putback' || !e.misplaced) return false;
      const planned = world.planogramSku.get(e.plateId);
      const a = world.skus.get(e.sku)!.unitWeightG.mean;
      const b = planned ? world.skus.get(planned)!.unitWeightG.mean : 0;
      return Math.abs(a - b) / Math.max(a, b) < 0.03;
    });
    expect(onTwin.length).toBeGreaterThanOrEqual(3);
  });

  it('misplaced-putbacks misplaces items, later shoppers take them, and the planogram is wrong', () => {
    const o = play('misplaced-putbacks', 6);
    const misplaced = o.truth.filter((e) => e.type === 'putback' && e.misplaced);
    expect(misplaced.length).toBeGreaterThanOrEqual(5);
    const misplacedIds = new Set(misplaced.flatMap((e) => (e.type === 'putback' ? e.itemIds : [])));
    const retaken = o.truth.filter((e) => e.type === 'pick' && e.itemIds.some((id) => misplacedIds.has(id)));
    expect(retaken.length).toBeGreaterThan(0);
    expect(o.engine.planogramSwaps).toHaveLength(2);
  });

  // Staff visits are rare (a few an hour) and covered by the agents' own tests.
  it('groups-and-handoffs has groups with one payer, hand-offs and tailgaters', () => {
    const o = play('groups-and-handoffs', 10);
    const visits = [...o.engine.world.visits.values()].filter((v) => v.enteredMs !== null);
    expect(visits.some((v) => v.kind === 'shopper' && v.memberIds.length >= 3)).toBe(true);
    expect(count(o, (e) => e.type === 'handoff')).toBeGreaterThan(3);
    expect(count(o, (e) => e.type === 'tailgate')).toBeGreaterThan(0);
    // One payer: every member of a group visit entered on a scan of the same code.
    const group = visits.find((v) => v.memberIds.length >= 3)!;
    const scans = o.truth.filter((e) => e.type === 'enter' && e.visitId === group.visitId);
    expect(scans).toHaveLength(group.memberIds.length);
    expect(scans.every((e) => e.type === 'enter' && e.scanId !== null)).toBe(true);
  });

  it('sensor-faults drops out and sticks plates', () => {
    const o = play('sensor-faults', 4);
    const starts = o.faults.filter((f) => f.phase === 'start');
    expect(starts.some((f) => f.fault === 'dropout')).toBe(true);
    expect(starts.some((f) => f.fault === 'stuck')).toBe(true);
  });

  it('baseline is calm: nobody tailgates, nothing is misplaced beyond a few, sensors are healthy', () => {
    const o = play('baseline', 5);
    expect(count(o, (e) => e.type === 'tailgate')).toBe(0);
    expect(o.faults).toHaveLength(0);
    expect(count(o, (e) => e.type === 'pick')).toBeGreaterThan(5);
  });
});
