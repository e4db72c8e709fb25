import { readFileSync } from 'node:fs';
import { quantile } from '../lib/svg-histogram.ts';

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** Percentiles (nearest rank) and mean, rounded to microseconds when the values are ms. */
export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return {
    n: s.length,
    p50: r3(quantile(s, 0.5)),
    p90: r3(quantile(s, 0.9)),
    p99: r3(quantile(s, 0.99)),
    mean: r3(mean),
    min: r3(s[0] ?? Number.NaN),
    max: r3(s[s.length - 1] ?? Number.NaN),
  };
}

export function mean(values: readonly number[]): number {
  return r3(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length));
}

/** Busy and total CPU time of the whole machine (Linux /proc/stat), null elsewhere. */
export function machineCpu(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/**
 * Cores used by the whole machine between two samples, and by other processes given our own
 * CPU time: how much the measurement had to share the machine.
 */
export function machineCores(
  a: ReturnType<typeof machineCpu>,
  b: ReturnType<typeof machineCpu>,
  cpus: number,
  ownCores: number,
): { machineCores: number; otherCores: number } | null {
  if (!a || !b || b.total <= a.total) return null;
  const busy = ((b.busy - a.busy) / (b.total - a.total)) * cpus;
  return {
    machineCores: Math.round(busy * 100) / 100,
    otherCores: Math.round(Math.max(0, busy - ownCores) * 100) / 100,
  };
}
