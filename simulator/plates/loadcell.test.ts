import { describe, expect, it } from 'vitest';
import type { Plate } from '../../proto/index.ts';
import { Rng } from '../core/rng.ts';
import { Scenario } from '../scenario/schema.ts';
import { LoadCell } from './loadcell.ts';

const plate: Plate = {
  id: 'P1',
  shelfId: 'S1',
  centerM: [0, 0, 1],
  sizeM: [1, 0.4],
  capacityG: 20000,
  sampleRateHz: 60,
};
const sensors = (over: Partial<Scenario['sensors']> = {}) => ({
  ...Scenario.parse({ name: 't', description: 't' }).sensors,
  ...over,
});

function run(cell: LoadCell, fromMs: number, toMs: number, load: (t: number) => number) {
  const samples: { t: number; g: number | null }[] = [];
  let batches = 0;
  for (let t = fromMs + 50; t <= toMs; t += 50) {
    for (const b of cell.advance(t, load(t))) {
      batches++;
      b.grams.forEach((g, i) => {
        samples.push({ t: b.t0Ms + (i * 1000) / b.sampleRateHz, g });
      });
    }
  }
  return { samples, batches };
}

describe('load cell', () => {
  it('publishes 60 Hz samples in about ten batches a second, with consecutive sequence numbers', () => {
    const cell = new LoadCell(plate, sensors(), Rng.stream(1, 'c'), 0);
    const seqs: number[] = [];
    let n = 0;
    for (let t = 50; t <= 10_000; t += 50) {
      for (const b of cell.advance(t, 1000)) {
        seqs.push(b.seq);
        n += b.grams.length;
      }
    }
    expect(n).toBeGreaterThanOrEqual(598);
    expect(n).toBeLessThanOrEqual(600);
    expect(seqs.length).toBeGreaterThanOrEqual(98);
    expect(seqs.length).toBeLessThanOrEqual(101);
    expect(seqs).toEqual(seqs.map((_, i) => i));
  });

  it('reads the load at rest within its noise, and settles on a step within half a second', () => {
    const cell = new LoadCell(plate, sensors({ noiseSdG: 2, driftGPerHour: 0 }), Rng.stream(2, 'c'), 0);
    cell.prime(5000);
    const { samples } = run(cell, 0, 4000, (t) => (t <= 2000 ? 5000 : 4650));
    const before = samples.filter((s) => s.t > 1000 && s.t < 2000).map((s) => s.g!);
    const after = samples.filter((s) => s.t > 2500).map((s) => s.g!);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
    expect(Math.abs(mean(before) - 5000)).toBeLessThan(1.5);
    expect(sd(before)).toBeGreaterThan(1);
    expect(sd(before)).toBeLessThan(3.5);
    expect(Math.abs(mean(after) - 4650)).toBeLessThan(1.5);
    // It does not jump: a spring settling with a 60 ms time constant covers a quarter of the
    // step in the first 60 Hz sample (1 - e^(-16.7/60) = 0.24), 4915 g, here within 4 noise SDs.
    const first = samples.find((s) => s.t >= 2000)!;
    expect(first.t).toBeLessThan(2017);
    expect(Math.abs(first.g! - 4915)).toBeLessThan(8);
  });

  it('rings after a step: swings back and forth at about 7 Hz, then rests on the new value', () => {
    // Without noise or drift, so that the swings are the ringing's alone: a plain settle would
    // fall to the new value without ever turning back.
    const cell = new LoadCell(plate, sensors({ noiseSdG: 0, driftGPerHour: 0 }), Rng.stream(5, 'c'), 0);
    cell.prime(5000);
    const { samples } = run(cell, 0, 4000, (t) => (t <= 2000 ? 5000 : 4650));
    const after = samples.filter((s) => s.t >= 2000 && s.t < 3000);
    const turns: { t: number; peak: boolean }[] = [];
    for (let i = 1; i < after.length - 1; i++) {
      const [a, b, c] = [after[i - 1]!.g!, after[i]!.g!, after[i + 1]!.g!];
      // Swings under a few tenths of a gram are the 0.1 g rounding's, not the spring's.
      if (Math.abs(b - 4650) < 0.3) continue;
      if ((b > a && b >= c) || (b < a && b <= c)) turns.push({ t: after[i]!.t, peak: b > a });
    }
    expect(turns.length, 'turning points in the second after the step').toBeGreaterThanOrEqual(4);
    // Peak to next peak (or trough to trough) is one period of the ringing.
    const periods = turns.slice(2).map((turn, i) => turn.t - turns[i]!.t);
    // Peaks and troughs alternate.
    expect(turns.slice(1).every((turn, i) => turn.peak !== turns[i]!.peak)).toBe(true);
    for (const ms of periods) {
      expect(ms).toBeGreaterThan(1000 / 9);
      expect(ms).toBeLessThan(1000 / 5);
    }
    // It overshoots: the reading passes the new load on its way.
    expect(Math.min(...after.map((s) => s.g!))).toBeLessThan(4650 - 0.3);
    const rest = samples.filter((s) => s.t > 3000).map((s) => s.g!);
    expect(Math.max(...rest.map((g) => Math.abs(g - 4650)))).toBeLessThanOrEqual(0.1);
  });

  it('drifts slowly when drift is configured', () => {
    const cell = new LoadCell(plate, sensors({ noiseSdG: 0.5, driftGPerHour: 60 }), Rng.stream(3, 'c'), 0);
    cell.prime(1000);
    const { samples } = run(cell, 0, 600_000, () => 1000);
    const last = samples.slice(-60).map((s) => s.g!);
    const avg = last.reduce((a, b) => a + b, 0) / last.length;
    expect(Math.abs(avg - 1000)).toBeGreaterThan(4); // ~10 g in 10 minutes, whichever way
    expect(Math.abs(avg - 1000)).toBeLessThan(15);
  });

  it('drops samples (null) and sticks on a value when faults are configured', () => {
    const cell = new LoadCell(
      plate,
      sensors({
        dropoutsPerPlatePerHour: 120,
        stuckPerPlatePerHour: 120,
        dropoutSeconds: 2,
        stuckSeconds: 2,
      }),
      Rng.stream(4, 'c'),
      0,
    );
    cell.prime(2000);
    const { samples } = run(cell, 0, 600_000, (t) => 2000 + Math.floor(t / 10_000) * 100);
    expect(samples.some((s) => s.g === null)).toBe(true);
    let longestRepeat = 0;
    let run1 = 0;
    for (let i = 1; i < samples.length; i++) {
      run1 = samples[i]!.g !== null && samples[i]!.g === samples[i - 1]!.g ? run1 + 1 : 0;
      longestRepeat = Math.max(longestRepeat, run1);
    }
    expect(longestRepeat).toBeGreaterThan(60); // a second or more of the same value: stuck
  });
});
