/** What a run records: the machine, the results files and charts, database waits. */

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../cloud/db/pool.ts';
import { type Distribution, histogramChart } from '../lib/svg-histogram.ts';
import type { Cloud, Shopper } from './cloud-process.ts';
import type { K6Outcome } from './k6.ts';
import { resultsDir, round, say } from './options.ts';

export function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGB: round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: loadavg().map((v) => round(v, 2)),
  };
}

export function write(
  name: string,
  result: unknown,
  chart?: { title: string; panels: Distribution[] },
): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const svg = chart?.panels.some((p) => p.values.length > 0) ?? false;
  if (chart && svg) {
    writeFileSync(
      join(resultsDir, `${name}-latency.svg`),
      histogramChart({ title: chart.title, panels: chart.panels.filter((p) => p.values.length > 0) }),
    );
  }
  say(`wrote ${join(resultsDir, `${name}.json`)}${svg ? ` and ${name}-latency.svg` : ''}`);
}

/** k6 itself failed: the result file says so rather than keeping an older run's figures. */
export function writeFailure(name: string, env: Env, o: K6Outcome): false {
  write(name, {
    benchmark: name,
    ...env.common,
    error: `k6 exited with ${o.exitCode}${o.summary ? '' : ' and wrote no summary'}; see the log above`,
    thresholdsPassed: false,
    meetsTarget: false,
  });
  return false;
}

export const allPassed = (t: Record<string, Record<string, boolean>>) =>
  Object.keys(t).length > 0 && Object.values(t).every((m) => Object.values(m).every(Boolean));

/** k6 ran to the end (thresholds may have failed); anything else is the benchmark's failure. */
export function k6Ran(o: K6Outcome, label: string): boolean {
  if ((o.exitCode === 0 || o.exitCode === 99) && o.summary) return true;
  say(`k6 ${label} failed to run (exit ${o.exitCode}${o.summary ? '' : ', no summary'})`);
  return false;
}

/**
 * What the cloud's database sessions were doing, sampled every 250 ms while a run lasts: counts of
 * (state, wait event) over all samples. Many `Lock:…` samples mean transactions queue on a lock.
 */
export function sampleDbWaits(db: Db, dbName: string): () => Record<string, number> {
  const counts: Record<string, number> = {};
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    db.query<{ what: string; n: number }>(
      `select state || coalesce(': ' || wait_event_type || '/' || wait_event, '') as what, count(*)::int as n
       from pg_stat_activity
       where datname = $1 and application_name <> 'bench-k6-driver' and backend_type = 'client backend'
       group by 1`,
      [dbName],
    )
      .then((r) => {
        for (const row of r.rows) counts[row.what] = (counts[row.what] ?? 0) + row.n;
      })
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  }, 250);
  return () => {
    clearInterval(timer);
    return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
  };
}

// ---------------------------------------------------------------------------------------------

export interface Env {
  k6: { path: string; version: string };
  db: Db;
  cloud: Cloud;
  tmp: string;
  run: string;
  shoppers: Shopper[];
  gate: { id: string; auth: string };
  /** One gate controller per store the gate load goes to. */
  loadGates: Array<{ gateId: string; auth: string; storeId: string }>;
  skus: string[];
  common: Record<string, unknown>;
  dbName: string;
}
