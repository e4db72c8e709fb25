import { describe, expect, it } from 'vitest';
import type { Vec2 } from '../../proto/layout/schema.ts';
import { correct, initialState, predict } from './kalman.ts';

const noise = { accel: 1.5, headWalk: 0.5 };
const limits = { maxSpeedMps: 2.5, headDeltaRangeM: [-1.2, 0.4] as const };

describe('floor Kalman filter with head height', () => {
  it('places a crouching person right from two cameras on either side, and finds the head lower', () => {
    // Feet at (5, 5); head 0.8 m below the plane. Camera A's nadir is west of the person, B's east:
    // the cut points land 0.8·|g| short of the truth, towards each nadir.
    const truth: Vec2 = [5, 5];
    const gA: Vec2 = [0.8, 0];
    const gB: Vec2 = [-0.8, 0.1];
    const seen = (g: Vec2): Vec2 => [truth[0] - 0.8 * g[0], truth[1] - 0.8 * g[1]];
    const s = initialState(seen(gA), 0.2, 1.25, 0.12, 0);
    for (let i = 1; i <= 40; i++) {
      predict(s, i * 50, noise);
      const g = i % 2 ? gA : gB;
      correct(s, seen(g), g, 0.08, limits);
    }
    expect(s.xyM[0]).toBeCloseTo(5, 1);
    expect(s.xyM[1]).toBeCloseTo(5, 1);
    expect(s.headDeltaM).toBeLessThan(-0.6);
  });

  it('keeps its covariance symmetric (rounding left in P − KHP once pulled tracks 0.3 m off)', () => {
    const s = initialState([1, 1], 0.2, 1.25, 1e-6, 0);
    for (let i = 1; i <= 500; i++) {
      predict(s, i * 25, { accel: 1.5, headWalk: 1e-12 });
      const g: Vec2 = i % 3 ? [0.7 * Math.sin(i), 0.6 * Math.cos(i)] : [0, 0];
      correct(s, [1 + 0.1 * Math.sin(i), 1 + 0.1 * Math.cos(i)], g, 0.15, limits);
    }
    for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) expect(s.p[r * 5 + c]).toBe(s.p[c * 5 + r]);
    expect(s.p[0]).toBeGreaterThan(0);
  });
});
