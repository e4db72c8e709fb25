/**
 * npx tsx benchmarks/accuracy/rescore.ts [--scenario NAME] DUMP/{scenario}-{seed} ...
 *
 * Scores kept runs (bench-accuracy --dump) again with today's scorer: when a metric is added or
 * changed, the runs already made give the new figure beside the old one, with no new simulation.
 * Prints each run's receipts figures and, last, all runs' together (weighted by visits).
 * --infer-doubts: for runs kept before the edge sent its doubts with a line (`doubt:{why}`,
 * ed24014), adds them from the run's resolve traces, as that edge would have sent them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lookSettles } from '../../edge/fusion/look.ts';
import type { ResolveTrace } from '../../edge/fusion/outputs.ts';
import type { Report } from '../../edge/stages.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import { loadRun } from './diagnose-load.ts';
import { scoreRun } from './score-run.ts';

/** Each event's doubt that no look settled, as the fusion decides it (engine.ts `finish`). */
function doubtsOf(traces: readonly ResolveTrace[]): Map<string, string> {
  return new Map(
    traces.flatMap((t) =>
      t.doubt !== null && !(t.look && lookSettles(t.look.outcome))
        ? [[t.event.eventId, t.doubt] as const]
        : [],
    ),
  );
}

function withDoubts(reports: Report[], doubts: ReadonlyMap<string, string>): Report[] {
  if (doubts.size === 0) return reports;
  return reports.map((r) => {
    if (r.body !== 'cart' || r.cart.evidence.some((e) => e.startsWith('doubt:'))) return r;
    const event = r.cart.evidence.find((e) => e.startsWith('weight:'))?.slice('weight:'.length);
    const why = event ? doubts.get(event) : undefined;
    return why ? { ...r, cart: { ...r.cart, evidence: [...r.cart.evidence, `doubt:${why}`] } } : r;
  });
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    scenario: { type: 'string', default: 'baseline' },
    'infer-doubts': { type: 'boolean', default: false },
  },
});
const { catalog } = loadScenario(values.scenario);
const keys = ['perfectReceipts', 'perfectUnreviewed', 'reviewRate', 'itemPrecision', 'itemRecall'] as const;
const sums = Object.fromEntries(keys.map((k) => [k, 0])) as Record<(typeof keys)[number], number>;
let visits = 0;
for (const dir of positionals) {
  const run = loadRun(dir);
  const s = scoreRun({
    ...run,
    reports: withDoubts(
      run.reports.map((r) => r.report),
      values['infer-doubts'] ? doubtsOf(run.resolves) : new Map(),
    ),
    layout: JSON.parse(readFileSync(join(dir, 'layout.json'), 'utf8')),
    catalog,
  });
  visits += s.visits;
  for (const k of keys) sums[k] += s[k] * s.visits;
  const figures = keys.map((k) => `${k} ${s[k].toFixed(3)}`).join(', ');
  process.stdout.write(`${dir}: ${s.visits} visits, ${figures}\n`);
}
const all = keys.map((k) => `${k} ${(sums[k] / Math.max(1, visits)).toFixed(3)}`).join(', ');
process.stdout.write(`all: ${visits} visits, ${all}\n`);
