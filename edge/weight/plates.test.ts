import { describe, expect, it } from 'vitest';
import {
  feed,
  type SynthOptions,
  type SynthPlate,
  steps,
  synthesize,
  testLayout,
} from '../../test/support/weight-trace.ts';
import { defaultWeightConfig, WeightConfig } from './config.ts';
import { ShelfWeights } from './plates.ts';

const T0 = 1_767_600_000_000;
const layout = testLayout([
  { id: 'S1', plates: 3 },
  { id: 'S2', plates: 2, rateHz: 50 },
]);
const idle = (base: number) => () => base;

function run(
  plates: SynthPlate[],
  durationMs: number,
  options: Partial<SynthOptions> & { tickMs?: number } = {},
  config = defaultWeightConfig,
) {
  const arrivals = synthesize(plates, { startMs: T0, durationMs, seed: 3, ...options });
  const weights = new ShelfWeights(layout, config);
  // Every plate of the layout sends, so no plate reads as silent unless a test says so.
  const out = feed(weights, arrivals, T0 + durationMs + 6000, options.tickMs);
  return { ...out, weights, health: out.health.filter((h) => h.sinceMs < T0 + durationMs - 200) };
}

/** The layout's other plates, idle and healthy. */
function others(except: string[]): SynthPlate[] {
  return layout.plates
    .filter((p) => !except.includes(p.id))
    .map((p) => ({ plateId: p.id, load: idle(5000), rateHz: p.sampleRateHz }));
}

describe('ShelfWeights', () => {
  it('measures a pick as the change between stable states, whatever the plate reads when empty', () => {
    for (const offsetG of [-5000, 60_000]) {
      const pick = { plateId: 'S1-P2', offsetG, load: steps(7040, [{ atMs: T0 + 5000, deltaG: -352 }]) };
      const { events, health } = run([pick, ...others(['S1-P2'])], 10_000);
      expect(health).toEqual([]);
      expect(events).toHaveLength(1);
      const [e] = events;
      expect(e!.shelfId).toBe('S1');
      expect(e!.plates.map((p) => p.plateId)).toEqual(['S1-P2']);
      expect(Math.abs(e!.deltaG + 352)).toBeLessThan(3);
      expect(e!.startMs).toBeGreaterThanOrEqual(T0 + 4800);
      expect(e!.startMs).toBeLessThan(T0 + 5300);
      expect(e!.settledMs).toBeLessThan(T0 + 6500);
      expect(e!.eventId).toBe(`S1@${e!.startMs}`);
      expect(e!.positionM[0]).toBeCloseTo(layout.plates[1]!.centerM[0], 3);
    }
  });

  it('ignores drift: 300 g an hour for 20 minutes makes no event, and a pick after it measures true', () => {
    const pickAt = T0 + 20 * 60_000;
    const plate = {
      plateId: 'S1-P1',
      driftGPerHour: 300,
      noiseSdG: 2,
      load: steps(5000, [{ atMs: pickAt, deltaG: -105.5 }]),
    };
    const { events } = run([plate], 20 * 60_000 + 5000);
    expect(events).toHaveLength(1);
    expect(Math.abs(events[0]!.deltaG + 105.5)).toBeLessThan(4);
    expect(events[0]!.startMs).toBeGreaterThan(pickAt - 500);
  });

  it('makes one event of an item lying across three plates, centred by |delta|', () => {
    // The field notes' bag of crisps: −58, −26 and −18 g on three neighbouring plates.
    const at = T0 + 4000;
    const plates = [
      { plateId: 'S1-P1', load: steps(3000, [{ atMs: at, deltaG: -58 }]) },
      { plateId: 'S1-P2', load: steps(3000, [{ atMs: at + 40, deltaG: -26 }]) },
      { plateId: 'S1-P3', load: steps(3000, [{ atMs: at + 80, deltaG: -18 }]) },
      ...others(['S1-P1', 'S1-P2', 'S1-P3']),
    ];
    const { events } = run(plates, 9000);
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e.plates.map((p) => p.plateId)).toEqual(['S1-P1', 'S1-P2', 'S1-P3']);
    expect(Math.abs(e.deltaG + 102)).toBeLessThan(4);
    const xs = layout.plates.slice(0, 3).map((p) => p.centerM[0]);
    const expectedX = (58 * xs[0]! + 26 * xs[1]! + 18 * xs[2]!) / 102;
    expect(Math.abs(e.positionM[0] - expectedX)).toBeLessThan(0.02);
  });

  it('makes no event of a hand leaning on a plate, and one (the pick) of a lean followed by a pick', () => {
    const lean = {
      plateId: 'S1-P1',
      load: steps(5000, [
        { atMs: T0 + 3000, deltaG: 800 },
        { atMs: T0 + 5500, deltaG: -800 },
      ]),
    };
    expect(run([lean, ...others(['S1-P1'])], 15_000).events).toEqual([]);
    const leanThenPick = {
      plateId: 'S1-P1',
      load: steps(5000, [
        { atMs: T0 + 3000, deltaG: 1500 },
        { atMs: T0 + 6000, deltaG: -1500 },
        { atMs: T0 + 7000, deltaG: -352 },
      ]),
    };
    const { events } = run([leanThenPick, ...others(['S1-P1'])], 15_000);
    expect(events).toHaveLength(1);
    expect(Math.abs(events[0]!.deltaG + 352)).toBeLessThan(3);
  });

  it('reports a put-back once it has held, and a quick lift-and-put-down as nothing', () => {
    const putBack = { plateId: 'S1-P3', load: steps(5000, [{ atMs: T0 + 3000, deltaG: 352 }]) };
    const { events } = run([putBack, ...others(['S1-P3'])], 12_000);
    expect(events).toHaveLength(1);
    expect(Math.abs(events[0]!.deltaG - 352)).toBeLessThan(3);
    expect(events[0]!.settledMs).toBeLessThan(T0 + 4500);
    const liftAndPutDown = {
      plateId: 'S1-P3',
      load: steps(5000, [
        { atMs: T0 + 3000, deltaG: -352 },
        { atMs: T0 + 3300, deltaG: 352 },
      ]),
    };
    expect(run([liftAndPutDown, ...others(['S1-P3'])], 12_000).events).toEqual([]);
  });

  it('makes a held put-back final at once when the fusion finds nobody within reach of it', () => {
    const putBack = { plateId: 'S1-P3', load: steps(5000, [{ atMs: T0 + 3000, deltaG: 352 }]) };
    const arrivals = synthesize([putBack, ...others(['S1-P3'])], {
      startMs: T0,
      durationMs: 12_000,
      seed: 3,
    });
    const weights = new ShelfWeights(layout, defaultWeightConfig);
    const askedMs = T0 + 5000;
    expect(
      feed(
        weights,
        arrivals.filter((a) => a.arrivalMs <= askedMs),
        askedMs,
      ).events,
    ).toEqual([]);
    expect(weights.held().map((e) => e.shelfId)).toEqual(['S1']);
    weights.confirm('S2'); // holds nothing: no event
    weights.confirm('S1');
    const { events } = weights.advance(askedMs);
    expect(events).toHaveLength(1);
    expect(Math.abs(events[0]!.deltaG - 352)).toBeLessThan(3);
    expect(weights.held()).toEqual([]);
    // Final once: the 5 s it would have been held pass without a second event.
    expect(
      feed(
        weights,
        arrivals.filter((a) => a.arrivalMs > askedMs),
        T0 + 12_000,
      ).events,
    ).toEqual([]);
  });

  it('makes two events of two put-backs on one plate seconds apart (not one, nor a lean)', () => {
    const twoPutBacks = {
      plateId: 'S1-P3',
      load: steps(5000, [
        { atMs: T0 + 3000, deltaG: 1010 },
        { atMs: T0 + 6800, deltaG: 1020 },
      ]),
    };
    const { events } = run([twoPutBacks, ...others(['S1-P3'])], 15_000);
    expect(events.map((e) => Math.round(e.deltaG / 10))).toEqual([101, 102]);
    expect(events[1]!.startMs).toBeGreaterThan(T0 + 6500);
    expect(events[0]!.settledMs).toBeLessThan(events[1]!.startMs);
  });

  it('makes two events of a put-back and, while it is held, a take from the next plate', () => {
    const putBack = { plateId: 'S1-P1', load: steps(5000, [{ atMs: T0 + 3000, deltaG: 864 }]) };
    const take = { plateId: 'S1-P2', load: steps(5000, [{ atMs: T0 + 6000, deltaG: -1348 }]) };
    const { events } = run([putBack, take, ...others(['S1-P1', 'S1-P2'])], 15_000);
    // Final in that order: the take at once, the put-back once it has held.
    expect(events.map((e) => e.plates.map((p) => [p.plateId, Math.round(p.deltaG / 10)]))).toEqual([
      [['S1-P2', -135]],
      [['S1-P1', 86]],
    ]);
    expect(events[0]!.startMs).toBeGreaterThan(T0 + 5500);
    expect(events[1]!.startMs).toBeLessThan(T0 + 3500);
    // A hand resting on a plate while it takes from the next, lifting off after: the take alone.
    const rest = {
      plateId: 'S1-P1',
      load: steps(5000, [
        { atMs: T0 + 3000, deltaG: 400 },
        { atMs: T0 + 8000, deltaG: -400 },
      ]),
    };
    const [one, ...more] = run([rest, take, ...others(['S1-P1', 'S1-P2'])], 15_000).events;
    expect(more).toEqual([]);
    expect(one!.plates.map((p) => [p.plateId, Math.round(p.deltaG / 10)])).toEqual([['S1-P2', -135]]);
  });

  it('tells two takes from one plate 0.4 s apart by the rest between them, and one take of two units from them', () => {
    const twoTakes = {
      plateId: 'S1-P2',
      load: steps(5000, [
        { atMs: T0 + 3000, deltaG: -134 },
        { atMs: T0 + 3400, deltaG: -134 },
      ]),
    };
    const [two] = run([twoTakes, ...others(['S1-P2'])], 10_000).events;
    expect(two?.deltaG).toBeCloseTo(-268, -1);
    expect(two?.steps).toHaveLength(2);
    for (const st of two!.steps!) expect(Math.abs(st.deltaG + 134)).toBeLessThan(8);
    expect(two!.steps![1]!.atMs - two!.steps![0]!.atMs).toBeGreaterThanOrEqual(200);
    const oneTake = { plateId: 'S1-P2', load: steps(5000, [{ atMs: T0 + 3000, deltaG: -268 }]) };
    const [one] = run([oneTake, ...others(['S1-P2'])], 10_000).events;
    expect(one?.deltaG).toBeCloseTo(-268, -1);
    expect(one?.steps).toBeUndefined();
  });

  it('keeps a shopper holding an item on the shelf for 12 s as one event', () => {
    // Partly lifted and wobbling for 12 s, then taken: never stable in between.
    const hold = {
      plateId: 'S1-P2',
      load: (t: number) => {
        const s = (t - T0 - 3000) / 1000;
        if (s < 0) return 4000;
        if (s < 12) return 4000 - 150 - 100 * Math.sin(s * 5) - 40 * Math.sin(s * 13);
        return 4000 - 352;
      },
    };
    const { events } = run([hold, ...others(['S1-P2'])], 22_000);
    expect(events).toHaveLength(1);
    expect(events[0]!.settledMs - events[0]!.startMs).toBeGreaterThan(10_000);
    expect(Math.abs(events[0]!.deltaG + 352)).toBeLessThan(3);
  });

  it('makes one event of two neighbouring plates changing together, with each plate’s own delta', () => {
    const plates = [
      { plateId: 'S1-P1', load: steps(5000, [{ atMs: T0 + 3000, deltaG: -352 }]) },
      { plateId: 'S1-P2', load: steps(5000, [{ atMs: T0 + 3400, deltaG: -1012 }]) },
      ...others(['S1-P1', 'S1-P2']),
    ];
    const { events } = run(plates, 9000);
    expect(events).toHaveLength(1);
    const byPlate = Object.fromEntries(events[0]!.plates.map((p) => [p.plateId, p.deltaG]));
    expect(Math.abs(byPlate['S1-P1']! + 352)).toBeLessThan(3);
    expect(Math.abs(byPlate['S1-P2']! + 1012)).toBeLessThan(3);
  });

  it('reports dropouts and stuck cells as health and never turns what happened meanwhile into picks', () => {
    const plates: SynthPlate[] = [
      {
        plateId: 'S1-P1',
        dropouts: [[T0 + 4000, T0 + 8000]],
        load: steps(5000, [{ atMs: T0 + 5000, deltaG: -352 }]),
      },
      {
        plateId: 'S1-P2',
        stuck: [[T0 + 10_000, T0 + 35_000]],
        load: steps(5000, [{ atMs: T0 + 20_000, deltaG: -1012 }]),
      },
      ...others(['S1-P1', 'S1-P2']),
    ];
    const { events, health, faultChanges } = run(plates, 45_000);
    expect(events).toEqual([]);
    const summary = health.map((h) => `${h.plateId}:${h.status}`);
    expect(summary).toEqual(['S1-P1:dropout', 'S1-P1:ok', 'S1-P2:stuck', 'S1-P2:ok']);
    expect(health[0]!.sinceMs).toBeGreaterThanOrEqual(T0 + 4000);
    expect(health[0]!.sinceMs).toBeLessThan(T0 + 4100);
    expect(health[2]!.sinceMs).toBeLessThan(T0 + 10_100);
    // What moved while the plates could not be read is reported, for an alert, not as an event.
    const changes = Object.fromEntries(faultChanges.map((f) => [f.plateId, f.deltaG]));
    expect(Math.abs(changes['S1-P1']! + 352)).toBeLessThan(4);
    expect(Math.abs(changes['S1-P2']! + 1012)).toBeLessThan(4);
  });

  it('reports a plate that stops sending as silent, and ok when it sends again', () => {
    const plates = [
      { plateId: 'S1-P3', silent: [[T0 + 5000, T0 + 12_000]] as [number, number][], load: idle(5000) },
      ...others(['S1-P3']),
    ];
    const { health, events } = run(plates, 20_000);
    expect(events).toEqual([]);
    expect(health.map((h) => `${h.plateId}:${h.status}`)).toEqual(['S1-P3:silent', 'S1-P3:ok']);
  });

  it('does not call a plate silent whose own clock runs seconds behind the store, while it sends', () => {
    const arrivals = synthesize([{ plateId: 'S1-P3', load: idle(5000) }, ...others(['S1-P3'])], {
      startMs: T0,
      durationMs: 20_000,
      seed: 3,
    }).map((a) =>
      a.batch.plateId === 'S1-P3' ? { ...a, batch: { ...a.batch, t0Ms: a.batch.t0Ms - 3000 } } : a,
    );
    const weights = new ShelfWeights(layout, defaultWeightConfig);
    const out = feed(weights, arrivals, T0 + 20_000);
    // By its samples' times it is always 3 s behind (more than silentAfterMs): it once flapped.
    expect(out.health).toEqual([]);
    expect(out.events).toEqual([]);
  });

  it('gives the same events from jittered, overlapping, reordered and repeated batches', () => {
    const plates = [
      {
        plateId: 'S1-P1',
        load: steps(5000, [
          { atMs: T0 + 3000, deltaG: -352 },
          { atMs: T0 + 9000, deltaG: -704 },
        ]),
      },
      { plateId: 'S2-P2', rateHz: 50, load: steps(8000, [{ atMs: T0 + 6000, deltaG: -1012 }]) },
      ...others(['S1-P1', 'S2-P2']),
    ];
    const clean = run(plates, 16_000).events;
    const messy = run(plates, 16_000, { jitterMs: 20, swapShare: 0.1, duplicateShare: 0.05 }).events;
    // The caller's clock may tick rarely: events are the same, only later.
    const rare = run(plates, 16_000, { tickMs: 1000 }).events;
    expect(clean).toHaveLength(3);
    expect(messy).toHaveLength(3);
    expect(rare.map((e) => e.eventId)).toEqual(clean.map((e) => e.eventId));
    rare.forEach((e, i) => {
      expect(Math.abs(e.deltaG - clean[i]!.deltaG)).toBeLessThan(0.5);
    });
    messy.forEach((e, i) => {
      expect(e.shelfId).toBe(clean[i]!.shelfId);
      expect(Math.abs(e.deltaG - clean[i]!.deltaG)).toBeLessThan(3);
      expect(Math.abs(e.startMs - clean[i]!.startMs)).toBeLessThan(250);
    });
  });

  it('stays quiet on a bad plate (3 g noise, 14 g spikes) for 10 minutes, and still sees a 38 g tea bag', () => {
    const pickAt = T0 + 10 * 60_000;
    const bad = {
      plateId: 'S2-P1',
      rateHz: 50,
      noiseSdG: 3,
      spikeProbability: 0.01,
      spikeG: 14,
      load: steps(2000, [{ atMs: pickAt, deltaG: -38 }]),
    };
    const { events, health } = run([bad, ...others(['S2-P1'])], 10 * 60_000 + 6000);
    expect(health).toEqual([]);
    expect(events).toHaveLength(1);
    expect(Math.abs(events[0]!.deltaG + 38)).toBeLessThan(4);
  });

  it('does not take a quiet, coarsely quantised cell (0.5 g noise in 0.24 g steps) for a stuck one', () => {
    const pickAt = T0 + 60_000;
    const fine = {
      plateId: 'S1-P1',
      noiseSdG: 0.5,
      quantumG: 0.24,
      load: steps(3000, [{ atMs: pickAt, deltaG: -38 }]),
    };
    const { events, health } = run([fine, ...others(['S1-P1'])], 66_000);
    expect(health).toEqual([]);
    expect(events).toHaveLength(1);
    expect(Math.abs(events[0]!.deltaG + 38)).toBeLessThan(2);
  });

  it('reports the live reading of a plate for the stock display', () => {
    const plates = [
      { plateId: 'S1-P1', load: steps(5000, [{ atMs: T0 + 3000, deltaG: -352 }]) },
      ...others(['S1-P1']),
    ];
    const arrivals = synthesize(plates, { startMs: T0, durationMs: 6000, seed: 5 });
    const weights = new ShelfWeights(layout, WeightConfig.parse({}));
    feed(weights, arrivals, T0 + 2500);
    expect(weights.plate('S1-P1')).toEqual({ stable: true, grams: expect.closeTo(0, 0) });
    feed(
      weights,
      arrivals.filter((a) => a.arrivalMs > T0 + 2500),
      T0 + 3500,
    );
    const moving = weights.plate('S1-P1');
    expect(moving.stable).toBe(false);
    expect(moving.grams).toBeLessThan(-100);
  });
});
