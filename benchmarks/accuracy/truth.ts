/**
 * The simulator's truth/positions.jsonl: every present person's floor position at camera rate.
 * For scoring only (the product never reads truth).
 */
import { readFileSync } from 'node:fs';
import type { Vec2 } from '../../proto/layout/schema.ts';

interface PositionsLine {
  tsMs: number;
  persons: { personId: string; floorM: Vec2 }[];
}

export interface Truth {
  /** Sample times, ascending. */
  timesMs: number[];
  /** Who stood where at exactly `tsMs` (a sample time), or undefined. */
  at(tsMs: number): Map<string, Vec2> | undefined;
  /** The sample nearest `tsMs` within `toleranceMs`. */
  near(tsMs: number, toleranceMs: number): Map<string, Vec2> | undefined;
}

export function truthFromLines(lines: PositionsLine[]): Truth {
  const byTime = new Map<number, Map<string, Vec2>>();
  for (const l of lines) byTime.set(l.tsMs, new Map(l.persons.map((p) => [p.personId, p.floorM])));
  const timesMs = [...byTime.keys()].sort((a, b) => a - b);
  return {
    timesMs,
    at: (tsMs) => byTime.get(tsMs),
    near(tsMs, toleranceMs) {
      let lo = 0;
      let hi = timesMs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (timesMs[mid]! < tsMs) lo = mid + 1;
        else hi = mid;
      }
      let best: number | undefined;
      for (const i of [lo - 1, lo]) {
        const t = timesMs[i];
        if (
          t !== undefined &&
          Math.abs(t - tsMs) <= toleranceMs &&
          (best === undefined || Math.abs(t - tsMs) < Math.abs(best - tsMs))
        )
          best = t;
      }
      return best === undefined ? undefined : byTime.get(best);
    },
  };
}

export function readTruth(path: string): Truth {
  const lines = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as PositionsLine);
  return truthFromLines(lines);
}
