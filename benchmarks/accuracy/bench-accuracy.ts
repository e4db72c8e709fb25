/**
 * npm run bench:accuracy -- (--scenario NAME|FILE ... | --all) [--seeds A-B] [--minutes M]
 *                           [--layout FILE --catalog FILE] [--detect-fps N] [--out DIR]
 *                           [--keep] [--dump DIR] [--detections-from DUMP] [--jobs N] [--arm-links]
 *
 * Simulates each scenario and seed with the edge in lockstep on its traffic (benchmarks/accuracy/
 * run-one.ts), scores the receipts and the floor tracks against the simulator's truth, and writes
 * DIR/accuracy.json ({"scenarios": {name: {visits, perfectReceipts, perfectUnreviewed,
 * itemPrecision, itemRecall, reviewRate, idf1, mota, eventPrecision, eventRecall}}}, fractions
 * 0..1), DIR/accuracy.svg and
 * DIR/imperfect.json (every imperfect receipt and what went wrong). Default DIR: benchmarks/results.
 * --dump DUMP keeps each run (truth and the edge's traces) in DUMP/{scenario}-{seed} for
 * benchmarks/accuracy/diagnose.ts. --jobs N runs the seeds in N child processes (jobs.ts): on this
 * 2-core machine, 2 halve a 200-visit run's time. --detections-from DUMP replays the detections a
 * kept run's detector gave (DUMP/{scenario}-{seed}/edge/dets.jsonl, recorded-detector.ts) instead
 * of detecting, and draws no frames: for a change after detection, about 16 times faster.
 * --set tracker.KEY=VALUE or fusion.SECTION.KEY=VALUE (repeatable) changes one edge option.
 * --arm-links turns on the arm-link model (models/arm-link), which the edge runs without by default.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LookRequest } from '../../edge/types.ts';
import { openDetector, VISION_DEFAULTS } from '../../edge/vision/detector.ts';
import { type MainStreams, openSecondLook } from '../../edge/vision/second-look.ts';
import { createLogger } from '../../platform/log.ts';
import { createProgressPrinter } from '../../simulator/cli/progress.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import { barChart } from '../lib/svg-bars.ts';
import { claimDumpDir } from './dump-dir.ts';
import { floorFrames, type TrackStatement } from './floor-frames.ts';
import { runJobs, seedRanges } from './jobs.ts';
import { clearMot, idScores, type MotFrame } from './mot-metrics.ts';
import { recordedDetector } from './recorded-detector.ts';
import { runOne } from './run-one.ts';
import type { ReceiptProblem } from './score.ts';
import { nestedSets } from './set-args.ts';
import { readTruth } from './truth.ts';

const SHIPPED = [
  'baseline',
  'crowded',
  'weight-twins',
  'misplaced-putbacks',
  'groups-and-handoffs',
  'sensor-faults',
];
/** Floor tracks are scored at this rate, matched within MATCH_M (the 0.5 m). */
const MATCH_M = 0.5;

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    all: { type: 'boolean', default: false },
    seeds: { type: 'string', default: '1-1' },
    minutes: { type: 'string', default: '10' },
    layout: { type: 'string' },
    catalog: { type: 'string' },
    'detect-fps': { type: 'string', default: '5' },
    out: { type: 'string', default: 'benchmarks/results' },
    keep: { type: 'boolean', default: false },
    /** Keep each run in DIR/{scenario}-{seed} with the edge's traces (for diagnose.ts). */
    dump: { type: 'string' },
    /** Without the second look (held-item model and classifier on the hand): weights alone. */
    'no-look': { type: 'boolean', default: false },
    /** With the arm-link model linking hands near two heads (off by default: docs/benchmarks.md, stop 37). */
    'arm-links': { type: 'boolean', default: false },
    /**
     * An experiment: the edge with one option changed, `tracker.KEY=VALUE` or
     * `fusion.SECTION.KEY=VALUE` (e.g. fusion.attribution.handWeight=1); repeatable.
     */
    set: { type: 'string', multiple: true, default: [] },
    /** Detections of kept runs (a --dump directory) instead of the detector. */
    'detections-from': { type: 'string' },
    jobs: { type: 'string', default: '1' },
    /** Set by --jobs for its children: where a child leaves its floor-track frames per scenario. */
    'frames-out': { type: 'string' },
  },
});
const scenarios = values.all ? SHIPPED : (values.scenario ?? ['baseline']);
const [fromSeed, toSeed] = (
  values.seeds.includes('-') ? values.seeds.split('-') : [values.seeds, values.seeds]
).map(Number) as [number, number];
const minutes = Number(values.minutes);
const detectFps = Number(values['detect-fps']);
const jobs = Number(values.jobs);
if (!(toSeed >= fromSeed && minutes > 0 && detectFps > 0 && Number.isInteger(jobs) && jobs >= 1)) {
  process.stderr.write('usage: --seeds A-B (A <= B), --minutes > 0, --detect-fps > 0, --jobs >= 1\n');
  process.exit(2);
}
const detectionsFrom = values['detections-from'] ? resolve(values['detections-from']) : undefined;
if (detectionsFrom && values.dump && resolve(values.dump) === detectionsFrom) {
  process.stderr.write(
    '--dump and --detections-from must be different directories: the run rewrites its dump\n',
  );
  process.exit(2);
}
const overrides = nestedSets(values.set);
const unknownSet = Object.keys(overrides).filter((k) => k !== 'tracker' && k !== 'fusion');
if (unknownSet.length > 0 || values.set.some((kv) => !kv.includes('='))) {
  process.stderr.write(
    `--set takes tracker.KEY=VALUE or fusion.SECTION.KEY=VALUE; not ${values.set.join(' ')}\n`,
  );
  process.exit(2);
}
const outDir = resolve(values.out);
mkdirSync(outDir, { recursive: true });
const results: Record<string, Record<string, number>> = {};
const imperfect: Record<string, (ReceiptProblem & { seed: number })[]> = {};
/** Floor-track frames per scenario, every seed's (ids prefixed with the seed). */
const frames: Record<string, MotFrame[]> = {};
const labels = scenarios.map((name) => basename(name).replace(/\.json$/, ''));
const started = performance.now();
if (jobs > 1) await runInJobs();
else await runHere();

/** Every scenario and seed in this process, one after another. */
async function runHere(): Promise<void> {
  const log = createLogger('accuracy', { level: 'warn' });
  const detector = detectionsFrom
    ? null
    : await openDetector({ ...VISION_DEFAULTS, armLinks: values['arm-links'] });
  const looks: { close(): Promise<void> }[] = [];
  const secondLook = values['no-look']
    ? undefined
    : (streams: MainStreams) => {
        // Opened per run on that run's cameras; the models load in the background of the first look.
        const opened = openSecondLook(streams);
        opened.then((o) => looks.push(o));
        return (request: LookRequest) => opened.then((o) => o.look(request));
      };
  try {
    for (const [i, name] of scenarios.entries()) {
      const loaded = loadScenario(name, { layout: values.layout, catalog: values.catalog });
      const label = labels[i]!;
      frames[label] = [];
      imperfect[label] = [];
      for (let seed = fromSeed; seed <= toSeed; seed++) {
        const work = values.dump
          ? join(resolve(values.dump), `${label}-${seed}`)
          : mkdtempSync(join(tmpdir(), `walkout-accuracy-${label}-${seed}-`));
        if (values.dump) mkdirSync(work, { recursive: true });
        const release = values.dump ? claimDumpDir(work) : () => {};
        process.stderr.write(`[accuracy] ${label} seed ${seed}: ${minutes} simulated minutes\n`);
        const progress = createProgressPrinter();
        const statements: TrackStatement[] = [];
        try {
          const r = await runOne({
            loaded,
            seed,
            minutes,
            out: work,
            detector:
              detector ?? recordedDetector(join(detectionsFrom!, `${label}-${seed}`, 'edge', 'dets.jsonl')),
            render: detector !== null,
            overrides,
            ...(secondLook ? { secondLook } : {}),
            detectFps,
            log,
            dump: values.dump !== undefined,
            onProgress: progress,
            onTracks: (o) =>
              statements.push({
                tsMs: o.tsMs,
                hyp: o.tracks
                  .filter((t) => t.state !== 'lost')
                  .map((t) => ({ id: t.trackId, xyM: t.floorXyM })),
              }),
          });
          progress.stop();
          const s = r.score;
          imperfect[label].push(...s.imperfect.map((p) => ({ ...p, seed })));
          results[`${label}#${seed}`] = { ...s, imperfect: s.imperfect.length } as unknown as Record<
            string,
            number
          >;
          frames[label].push(
            ...floorFrames(statements, readTruth(join(work, 'truth', 'positions.jsonl')), `${seed}:`),
          );
          process.stderr.write(
            `[accuracy] ${label} seed ${seed}: ${s.visits} visits, perfect ${(s.perfectReceipts * 100).toFixed(1)} %, ` +
              `items P ${s.itemPrecision.toFixed(3)} R ${s.itemRecall.toFixed(3)}, events P ${s.eventPrecision.toFixed(3)} ` +
              `R ${s.eventRecall.toFixed(3)}, ${r.framesDetected} frames in ${r.wallSeconds.toFixed(0)} s\n`,
          );
        } finally {
          progress.stop();
          release();
          if (!values.keep && !values.dump) rmSync(work, { recursive: true, force: true });
        }
        // After every seed, so a long run that is stopped still leaves what it measured.
        summarize(label);
        writeResults();
      }
    }
  } finally {
    await detector?.close();
    await Promise.all(looks.map((l) => l.close()));
  }
  if (values['frames-out']) writeFileSync(values['frames-out'], JSON.stringify(frames));
}

/** The seeds in `jobs` child processes, scored together when all are done. */
async function runInJobs(): Promise<void> {
  const passOn = process.argv.slice(2).filter((_, i, all) => !skipArg(all, i));
  const done = await runJobs(seedRanges(fromSeed, toSeed, jobs), passOn, outDir);
  for (const label of labels) {
    imperfect[label] = done.flatMap((d) => d.imperfect[label] ?? []);
    frames[label] = done.flatMap((d) => d.frames[label] ?? []);
  }
  for (const d of done) Object.assign(results, d.perSeed);
  for (const label of labels) summarize(label);
  writeResults();
}

/** The arguments a job's child gets its own of (seeds, output, jobs). */
function skipArg(all: readonly string[], i: number): boolean {
  const own = ['--seeds', '--out', '--jobs', '--frames-out'];
  const a = all[i]!;
  if (own.some((o) => a.startsWith(`${o}=`) || a === o)) return true;
  return i > 0 && own.includes(all[i - 1]!) && !all[i - 1]!.includes('=');
}

/** A scenario's figures over the seeds run so far: receipts weighted by visits, tracks pooled. */
function summarize(label: string): void {
  const perSeed = Object.entries(results)
    .filter(([k]) => k.startsWith(`${label}#`))
    .map(([, v]) => v);
  const visits = perSeed.reduce((a, v) => a + (v.visits ?? 0), 0);
  const weighted = (key: string) =>
    perSeed.reduce((a, v) => a + (v[key] ?? 0) * (v.visits ?? 0), 0) / Math.max(1, visits);
  const f = frames[label] ?? [];
  results[label] = {
    visits,
    perfectReceipts: weighted('perfectReceipts'),
    perfectUnreviewed: weighted('perfectUnreviewed'),
    itemPrecision: weighted('itemPrecision'),
    itemRecall: weighted('itemRecall'),
    reviewRate: weighted('reviewRate'),
    idf1: idScores(f, MATCH_M).idf1,
    mota: clearMot(f, MATCH_M).mota,
    eventPrecision: weighted('eventPrecision'),
    eventRecall: weighted('eventRecall'),
  };
}

process.stdout.write(
  `${JSON.stringify(Object.fromEntries(Object.entries(results).filter(([k]) => !k.includes('#'))), null, 2)}\n`,
);
process.stderr.write(
  `[accuracy] wrote ${join(outDir, 'accuracy.json')}, accuracy.svg, accuracy-imperfect.json\n`,
);

/** accuracy.json, its chart and the imperfect receipts, for the seeds run so far. */
function writeResults(): void {
  const summary = Object.fromEntries(Object.entries(results).filter(([k]) => !k.includes('#')));
  const result = {
    benchmark: 'accuracy',
    date: new Date().toISOString(),
    command: `npm run bench:accuracy -- ${process.argv.slice(2).join(' ')}`,
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown' },
    seeds: `${fromSeed}-${toSeed}`,
    /** Runs (scenario and seed) finished when this was written; a stopped run has fewer. */
    runsDone: Object.keys(results).filter((k) => k.includes('#')).length,
    minutesPerSeed: minutes,
    detectFps,
    wallSeconds: Math.round((performance.now() - started) / 1000),
    targets: { baseline: { perfectReceipts: 0.995, idf1: 0.95, reviewRateAtMost: 0.02, visitsAtLeast: 200 } },
    scenarios: summary,
    perSeed: Object.fromEntries(Object.entries(results).filter(([k]) => k.includes('#'))),
  };
  writeFileSync(join(outDir, 'accuracy.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, 'accuracy-imperfect.json'), `${JSON.stringify(imperfect, null, 2)}\n`);
  const measures = [
    { name: 'perfect receipts', key: 'perfectReceipts', colour: '#1b7837', target: 0.995 },
    { name: 'item precision', key: 'itemPrecision', colour: '#5aae61' },
    { name: 'item recall', key: 'itemRecall', colour: '#a6dba0' },
    { name: 'review rate', key: 'reviewRate', colour: '#c2a5cf', target: 0.02 },
    { name: 'floor IDF1', key: 'idf1', colour: '#2166ac', target: 0.95 },
    { name: 'MOTA', key: 'mota', colour: '#67a9cf' },
    { name: 'event precision', key: 'eventPrecision', colour: '#f4a582' },
    { name: 'event recall', key: 'eventRecall', colour: '#d6604d' },
  ];
  writeFileSync(
    join(outDir, 'accuracy.svg'),
    barChart({
      title: `Receipts and tracks against the truth (seeds ${fromSeed}-${toSeed}, ${minutes} min each)`,
      categories: Object.keys(summary),
      measures,
      values: Object.values(summary).map((s) => measures.map((m) => s[m.key] ?? null)),
    }),
  );
}
