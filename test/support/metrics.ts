import type { TestCloud } from './cloud.ts';

/**
 * One series of the cloud's /metrics, read as a client scrapes it. A series the process has not
 * touched yet reads 0. Tests compare a reading before an action with one after it: a counter's
 * absolute value depends on whatever ran earlier in the same process.
 */
export async function metricValue(cloud: TestCloud, series: string): Promise<number> {
  const line = (await cloud.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** The readings of several series at once, for a before/after comparison. */
export async function metricValues<K extends string>(
  cloud: TestCloud,
  series: Record<K, string>,
): Promise<Record<K, number>> {
  const out = {} as Record<K, number>;
  for (const [k, s] of Object.entries(series) as [K, string][]) out[k] = await metricValue(cloud, s);
  return out;
}
