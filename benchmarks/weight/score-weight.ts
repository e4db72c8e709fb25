/**
 * Scores the edge's weight stage on a simulator recording (made with --no-cameras):
 *   npx tsx simulator/cli/sim.ts --record /tmp/weight/faults7 --out /tmp/weight/faults7 \
 *     --no-cameras --scenario sensor-faults --seed 7 --minutes 8
 *   npx tsx benchmarks/weight/score-weight.ts /tmp/weight/faults7
 * --carts passes identify the SKUs identified as taken and not put back (what shoppers carry).
 * Prints event recall/precision, SKU + quantity accuracy, health found, and samples per CPU second.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreLayout } from '../../proto/layout/schema.ts';
import { readTruth, replayRecording, scoreReplay } from '../../test/support/weight-replay.ts';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: score-weight.ts RECORDING_DIR [--carts] [--verbose]');
  process.exit(2);
}
const verbose = process.argv.includes('--verbose');
const layout = StoreLayout.parse(JSON.parse(readFileSync(join(dir, 'layout.json'), 'utf8')));
const replay = await replayRecording(dir, undefined, { carts: process.argv.includes('--carts') });
const truth = readTruth(dir);
const s = scoreReplay(replay, truth, layout);
const faults = readFileSync(join(dir, 'truth', 'faults.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean);
const starts = faults.filter((l) => l.includes('"start"')).length;
const pct = (a: number, b: number) => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)} %`);
const t0 = Number(truth[0]?.tsMs ?? 0) - 60_000;
const at = (ms: number) => ((ms - t0) / 1000).toFixed(1);
console.log(`recording        ${dir} (${(replay.simulatedMs / 60_000).toFixed(1)} simulated min)`);
console.log(`truth changes    ${s.truth} (picks, put-backs, restocks)`);
console.log(`events           ${s.events}, holding truth: ${s.matchedEvents}`);
console.log(
  `recall           ${pct(s.found, s.truth)} (${s.found}/${s.truth}; ${s.cancelled} cancelled pick+put-back pairs unseen)`,
);
console.log(
  `precision        ${pct(s.matchedEvents, s.events)} (${s.falseEvents.length} events with no truth)`,
);
console.log(
  `SKU+quantity     ${pct(s.identified, s.found)} of found (top 2: ${pct(s.identifiedTop2, s.found)})`,
);
console.log(
  `doubt()          flags ${s.doubtedWrong}/${s.wrong.length} events read wrong, ${s.doubtedRight}/${s.eventsRight} read right`,
);
console.log(
  `health changes   ${replay.health.length} (truth: ${starts} faults, ${faults.length} starts+ends); fault changes ${replay.faultChanges.length}`,
);
console.log(
  `cost             ${replay.samples} samples in ${replay.weightsMs.toFixed(0)} ms: ${((replay.samples / replay.weightsMs) * 1000).toFixed(0)} samples/s of CPU; identify ${replay.identifyMs.toFixed(0)} ms for ${s.events} events`,
);
const live = 80 * 60;
console.log(
  `                 80 plates × 60 Hz = ${live} samples/s → ${((100 * live) / ((replay.samples / replay.weightsMs) * 1000)).toFixed(2)} % of one core`,
);
if (verbose) {
  for (const m of s.misses) console.log(`MISS  ${at(m.tsMs)} ${m.type} ${m.plateId} ${m.sku} ${m.quantity}`);
  for (const f of s.falseEvents)
    console.log(
      `FALSE ${at(f.event.startMs)} ${JSON.stringify(f.event.plates)} → ${JSON.stringify(f.hypotheses[0])}`,
    );
  for (const w of s.wrong)
    console.log(
      `WRONG ${at(w.identified.event.startMs)} ${JSON.stringify(w.identified.event.plates)} truth ${JSON.stringify(w.truth.map((t) => [t.plateId, t.sku, t.quantity]))} → ${JSON.stringify(w.identified.hypotheses.slice(0, 2))}`,
    );
  for (const f of replay.faultChanges)
    console.log(`FAULTCHANGE ${at(f.fromMs)}–${at(f.toMs)} ${f.plateId} ${f.deltaG} g`);
}
