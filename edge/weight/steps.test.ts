import { describe, expect, it } from 'vitest';
import { reachSteps } from './steps.ts';

const config = { restTolG: 10, restBlocks: 2, minStepG: 15 };
const trace = (...means: number[]) => means.map((meanG, i) => ({ tMs: i * 100, meanG }));

describe('reachSteps', () => {
  it('finds two takes where the level rested between them (a recorded trace)', () => {
    // Plate G3E3-P1, baseline seed 1: two shoppers' nuts (134 g), 0.4 s apart.
    const t = trace(5303, 5223, 5202, 5197, 5168, 5089, 5068, 5066, 5063, 5062, 5064, 5064);
    expect(reachSteps(t, 5332, 5064, config)).toEqual([
      { atMs: 200, deltaG: -132.5 },
      { atMs: 600, deltaG: -135.5 },
    ]);
  });

  it('passes over a hand leaning on the plate: a rest off the way is no step', () => {
    // Lean (+855 g), a take under it, the lean lifted, a second take (recorded, seed 1).
    const t = trace(
      5839,
      5797,
      5788,
      5787,
      5786,
      5786,
      5787,
      5272,
      5003,
      4947,
      4931,
      4932,
      4932,
      4932,
      4852,
      4808,
      4800,
      4797,
      4797,
    );
    const s = reachSteps(t, 5063, 4797, config);
    expect(s.map((x) => Math.round(x.deltaG))).toEqual([-131, -135]);
  });

  it('gives nothing for one reach, however many units, or a change too small to hold two', () => {
    // Three units in one take: the ringing settles straight to the end.
    expect(reachSteps(trace(4559, 4435, 4408, 4402, 4401, 4401, 4402), 4798, 4402, config)).toEqual([]);
    expect(reachSteps(trace(5020, 5020, 5010, 5010), 5030, 5005, config)).toEqual([]);
    expect(reachSteps([], 5000, 4700, config)).toEqual([]);
  });

  it('works for put-backs the same way', () => {
    const s = reachSteps(trace(1100, 1210, 1205, 1230, 1340, 1345, 1344), 1000, 1344, config);
    expect(s.map((x) => Math.round(x.deltaG))).toEqual([208, 137]);
  });
});
