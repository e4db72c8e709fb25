/**
 * npm run bench:edge [-- --recording DIR | --scenario baseline --seed 1 --minutes 2] [--detector-runs 2]
 *                      [--detect-in-flight N] [--workers N] [--threads N] [--out DIR] [--keep]
 *   → DIR/edge.json and DIR/edge.svg (default DIR: benchmarks/results)
 *
 * The whole edge on a simulator recording replayed as fast as the machine allows, every frame of
 * every camera (no thinning), and the same frames through the detector stage alone in the same run:
 *
 * 1. the input alone: the recording read and decoded (ReplayInput), nothing else;
 * 2. the detector stage alone through the loader (edge/vision/detector.ts: the detector's worker
 *    threads and, with re-id on as the edge runs, the embedding worker), driven by the edge's own
 *    loop with the same detectInFlight and a fusion that does nothing;
 * 3. the whole edge: replay input → detector → fusion (buildFusion, the edge's default config), no
 *    cloud link and no live publisher (reports are counted, not stored or sent);
 * 4. the detector stage alone again (`--detector-runs 2`, the default), so a machine whose load
 *    changed during the run shows, and the ratio is against the mean of both.
 *
 * Latencies are defined in benchmarks/edge/latency.ts and repeated in the JSON. A recording is made
 * in a temporary directory with the simulator's CLI unless --recording names one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseEdgeConfig } from '../../edge/config.ts';
import { loadRecordingStore, ReplayInput } from '../../edge/io/index.ts';
import { runLoop } from '../../edge/loop.ts';
import { openDetector } from '../../edge/vision/detector.ts';
import { buildFusion } from '../../edge/wiring.ts';
import type { Timing } from '../../models/runtime/index.ts';
import { createLogger } from '../../platform/log.ts';
import { machineCores, machineCpu, summarize } from '../inference/stats.ts';
import { histogramChart } from '../lib/svg-histogram.ts';
import { EdgeLatencies } from './latency.ts';
import { idleFusion, mainThreadCpuMs, ProbedInput, probeFusion } from './probe.ts';

const { values } = parseArgs({
  options: {
    recording: { type: 'string' },
    scenario: { type: 'string', default: 'baseline' },
    seed: { type: 'string', default: '1' },
    minutes: { type: 'string', default: '2' },
    'detector-runs': { type: 'string', default: '2' },
    'detect-in-flight': { type: 'string' },
    workers: { type: 'string' },
    threads: { type: 'string' },
    out: { type: 'string', default: 'benchmarks/results' },
    keep: { type: 'boolean', default: false },
    /** Stop each pass after this many frames (a quick look, or a profile); default: the whole recording. */
    'max-frames': { type: 'string' },
    /**
     * The detector alone runs on the recording's first N frames (the whole edge's frames/s over the
     * same first N is what the ratio compares), so two baselines fit in a few minutes.
     */
    'baseline-frames': { type: 'string', default: '2000' },
  },
});
const TARGETS = {
  fps: 120,
  ratio: 0.8,
  frameToTrackP99Ms: 40,
  weightToCartP99Ms: 300,
  exitToClosedP99Ms: 1000,
};
/** A progress line at most this often (wall ms) while a pass runs. */
const PROGRESS_EVERY_MS = 5000;

const root = fileURLToPath(new URL('../../', import.meta.url));
const say = (line: string) => process.stderr.write(`[edge] ${line}\n`);
const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
const log = createLogger('bench-edge', { level: 'warn' });
const outDir = resolve(values.out);
mkdirSync(outDir, { recursive: true });
const started = performance.now();
const loadAtStart = loadavg().map((v) => round(v, 2));

// The recording: given, or made now with the simulator's CLI.
let scratch: string | null = null;
let recording: { dir: string; made: boolean; summary: Record<string, unknown> | null };
if (values.recording) {
  recording = { dir: resolve(values.recording), made: false, summary: null };
} else {
  scratch = mkdtempSync(join(tmpdir(), 'walkout-bench-edge-'));
  const dir = join(scratch, 'recording');
  say(
    `recording ${values.scenario} seed ${values.seed}, ${values.minutes} simulated minutes with cameras in ${dir}…`,
  );
  const sim = spawnSync(
    process.execPath,
    [
      ...['--import', 'tsx', 'simulator/cli/sim.ts', '--record', dir, '--out', join(scratch, 'out')],
      ...['--scenario', values.scenario, '--seed', values.seed, '--minutes', values.minutes],
    ],
    { cwd: root, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (sim.status !== 0) throw new Error(`the simulator failed (exit ${sim.status})`);
  recording = { dir, made: true, summary: JSON.parse(sim.stdout.toString()) };
}
if (!existsSync(join(recording.dir, 'mqtt.jsonl'))) throw new Error(`${recording.dir}: not a recording`);

const { layout, catalog } = loadRecordingStore(recording.dir);
const config = parseEdgeConfig(['--store', layout.storeId, '--replay', recording.dir], {});
const detectInFlight = Number(values['detect-in-flight'] ?? config.detectInFlight);
const workers = values.workers ? Number(values.workers) : config.workers;
const threads = values.threads ? Number(values.threads) : config.detectThreads;

/** Worker time of the pass running, from the detector's tap (ms measured in the workers). */
const workerTimes = () => ({
  frames: 0,
  detect: zeroTiming(),
  embedCalls: 0,
  embed: zeroTiming(),
  armCalls: 0,
  arms: zeroTiming(),
});
let inWorkers = workerTimes();
const opened = await openDetector({
  scoreThreshold: config.detectScore,
  reid: config.reid,
  armLinks: config.armLinks,
  ...(workers ? { workers } : {}),
  ...(threads ? { intraOpThreads: threads } : {}),
  observe: (t) => {
    inWorkers.frames += 1;
    addTiming(inWorkers.detect, t.detect);
    if (t.embed) {
      inWorkers.embedCalls += 1;
      addTiming(inWorkers.embed, t.embed);
    }
    if (t.arms) {
      inWorkers.armCalls += 1;
      addTiming(inWorkers.arms, t.arms);
    }
  },
});
// Frames still in the workers when a pass is cut short (--max-frames) are awaited before the
// workers are closed: onnxruntime aborts the process when a session ends mid-run.
const pending = new Set<Promise<unknown>>();
const detector = {
  ...opened,
  detect: (frame: Parameters<typeof opened.detect>[0]) => {
    const p = opened.detect(frame);
    pending.add(p);
    p.finally(() => pending.delete(p)).catch(() => {});
    return p;
  },
  close: async () => {
    await Promise.allSettled([...pending]);
    await opened.close();
  },
};
say(
  `detector stage: ${detector.model.manifest.name} with re-id ${config.reid ? 'on' : 'off'}, ${workers ?? 'default'} workers of ${threads ?? 1} thread(s), ${detectInFlight} frames in flight`,
);

/** What every pass measures of the process and the machine around it. */
function meter() {
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const machine0 = machineCpu();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  return () => {
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const processCpuMs = (cpu.user + cpu.system) / 1000;
    const main1 = mainThreadCpuMs();
    const shared = machineCores(machine0, machineCpu(), cpus().length, processCpuMs / wallMs);
    return {
      wallMs,
      seconds: round(wallMs / 1000, 2),
      processCores: round(processCpuMs / wallMs, 2),
      processCpuMs: Math.round(processCpuMs),
      mainThreadCpuMs: main0 === null || main1 === null ? null : Math.round(main1 - main0),
      eventLoopUtilization: round(performance.eventLoopUtilization(elu0).utilization, 3),
      /** Cores other processes used meanwhile: above ~0.1 the machine was shared. */
      otherProcessesCores: shared?.otherCores ?? null,
    };
  };
}

// 1. The input alone.
say('pass 1: the recording read and decoded alone…');
const inputAlone = await (async () => {
  const input = new ProbedInput(
    new ReplayInput({ dir: recording.dir, log: log.child('replay'), detectFps: 0 }),
    null,
  );
  const stop = meter();
  let firstStoreMs: number | null = null;
  for (let i = await input.next(); i; i = await input.next()) {
    firstStoreMs ??= i.kind === 'frame' ? i.frame.captureMs : i.tsMs;
    if (i.kind === 'frame') input.markProcessed(i.frame.cameraId);
  }
  const m = stop();
  await input.close();
  return {
    inputs: input.inputs,
    frames: input.frames,
    deviceMessages: input.inputs - input.frames,
    storeSeconds: round((input.storeMs - (firstStoreMs ?? 0)) / 1000, 2),
    cpuMsPerThousandInputs: round((m.processCpuMs / Math.max(1, input.inputs)) * 1000, 1),
    rejected: input.rejected(),
    ...m,
  };
})();
say(
  `  ${inputAlone.frames} frames and ${inputAlone.deviceMessages} device messages over ${inputAlone.storeSeconds} store s, read in ${inputAlone.seconds} s`,
);

interface PassOptions {
  name: string;
  fusion: 'idle' | 'real';
  /** Stop after this many frames. */
  limit: number;
}

async function pass(opts: PassOptions) {
  const latencies = new EdgeLatencies();
  const input = new ProbedInput(
    new ReplayInput({ dir: recording.dir, log: log.child('replay'), detectFps: 0 }),
    opts.fusion === 'real' ? latencies : null,
  );
  let probe: ReturnType<typeof probeFusion> | null = null;
  if (opts.fusion === 'real') {
    const real = buildFusion(layout, catalog, {
      ...config,
      observe: {
        weightEvent: (e) =>
          latencies.weightSettled(e.eventId, e.settledMs, probe!.storeNow(), performance.now()),
      },
    });
    probe = probeFusion(real, input, latencies);
  }
  inWorkers = workerTimes();
  let detected = 0;
  let lastSay = { at: performance.now(), frames: 0 };
  const total = Math.min(opts.limit, inputAlone.frames);
  let firstFramesMs: number | null = null;
  const progress = setInterval(() => {
    const now = performance.now();
    const fps = ((detected - lastSay.frames) * 1000) / (now - lastSay.at);
    lastSay = { at: now, frames: detected };
    say(
      `  ${opts.name}: ${detected}/${total} frames (${Math.round((detected / total) * 100)} %), ${round(fps)} frames/s now`,
    );
  }, PROGRESS_EVERY_MS).unref();
  const abort = new AbortController();
  const stop = meter();
  const startedMs = performance.now();
  const stats = await runLoop(
    {
      input,
      detector,
      fusion: probe?.fusion ?? idleFusion(),
      link: null,
      publisher: null,
      log,
      detectInFlight,
      onDetections: () => {
        detected += 1;
        if (detected === baselineFrames) firstFramesMs = performance.now() - startedMs;
        if (detected >= opts.limit) abort.abort();
      },
    },
    abort.signal,
  );
  const m = stop();
  clearInterval(progress);
  await Promise.allSettled([...pending]);
  const counters = input.counters();
  await input.close();
  const frames = Object.values(counters).reduce(
    (t, c) => ({
      received: t.received + c.received,
      processed: t.processed + c.processed,
      dropped: t.dropped + c.dropped,
    }),
    { received: 0, processed: 0, dropped: 0 },
  );
  const fps = round(stats.framesDetected / (m.wallMs / 1000));
  say(`  ${opts.name}: ${stats.framesDetected} frames in ${m.seconds} s: ${fps} frames/s`);
  const w = inWorkers;
  return {
    framesPerSecond: fps,
    /** Frames/s over the first `baselineFrames` frames: what the ratio compares. */
    firstFramesPerSecond: firstFramesMs === null ? null : round(baselineFrames / (firstFramesMs / 1000)),
    /** Store seconds replayed per wall second. */
    replaySpeed: round(inputAlone.storeSeconds / (m.wallMs / 1000), 2),
    loop: stats,
    frames,
    framesPerCamera: counters,
    ...m,
    workers: {
      detector: {
        calls: w.frames,
        meanMs: meanTiming(w.detect, w.frames),
        totalMs: Math.round(w.detect.totalMs),
      },
      reid: {
        calls: w.embedCalls,
        meanMs: meanTiming(w.embed, w.embedCalls),
        totalMs: Math.round(w.embed.totalMs),
      },
      armLink: {
        calls: w.armCalls,
        meanMs: meanTiming(w.arms, w.armCalls),
        totalMs: Math.round(w.arms.totalMs),
      },
      /** Worker ms per wall ms: cores the inference workers kept busy (more, with intra-op threads). */
      cores: round((w.detect.totalMs + w.embed.totalMs + w.arms.totalMs) / m.wallMs, 2),
    },
    probe,
    latencies,
  };
}

const maxFrames = values['max-frames'] ? Number(values['max-frames']) : Number.POSITIVE_INFINITY;
const baselineFrames = Math.min(Number(values['baseline-frames']), maxFrames, inputAlone.frames);
const detectorRuns = Math.max(1, Math.min(2, Number(values['detector-runs'])));
let whole: Awaited<ReturnType<typeof pass>>;
const alone: Awaited<ReturnType<typeof pass>>[] = [];
try {
  say('pass 2: the detector stage alone through the loader…');
  alone.push(await pass({ name: 'detector alone', fusion: 'idle', limit: baselineFrames }));
  say('pass 3: the whole edge (replay → detector → fusion)…');
  whole = await pass({ name: 'whole edge', fusion: 'real', limit: maxFrames });
  if (detectorRuns > 1) {
    say('pass 4: the detector stage alone again…');
    alone.push(await pass({ name: 'detector alone (again)', fusion: 'idle', limit: baselineFrames }));
  }
} finally {
  await detector.close();
}

const aloneFps = round(alone.reduce((a, p) => a + p.framesPerSecond, 0) / alone.length);
const wholeFirstFps = whole.firstFramesPerSecond ?? whole.framesPerSecond;
const lat = whole.latencies;
const probe = whole.probe!;
const frameToTrack = summarize(lat.frameToTrack.map((f) => f.totalMs));
const weightLive = summarize(lat.weightToCart.map((w) => w.liveMs));
const exitLive = summarize(lat.exitToClosed.map((e) => e.liveMs));
const ratio = round(wholeFirstFps / aloneFps, 3);
const targets = [
  {
    name: 'whole edge frames/s',
    target: `≥ ${TARGETS.fps}`,
    measured: whole.framesPerSecond,
    pass: whole.framesPerSecond >= TARGETS.fps,
  },
  {
    name: 'whole edge / detector alone',
    target: `≥ ${TARGETS.ratio}`,
    measured: ratio,
    pass: ratio >= TARGETS.ratio,
  },
  {
    name: 'frame → track update p99 (ms)',
    target: `≤ ${TARGETS.frameToTrackP99Ms}`,
    measured: frameToTrack.p99,
    pass: frameToTrack.p99 <= TARGETS.frameToTrackP99Ms,
  },
  {
    name: 'weight settled → cart event p99 (ms, live estimate)',
    target: `≤ ${TARGETS.weightToCartP99Ms}`,
    measured: weightLive.p99,
    pass: weightLive.p99 <= TARGETS.weightToCartP99Ms,
  },
  {
    name: 'last exit → VISIT_CLOSED p99 (ms, live estimate)',
    target: `≤ ${TARGETS.exitToClosedP99Ms}`,
    measured: exitLive.p99,
    pass: exitLive.p99 <= TARGETS.exitToClosedP99Ms,
  },
];
const fusionMs = probe.times;
const perFrame = (ms: number) => round(ms / Math.max(1, whole.loop.framesDetected), 3);
const stripRun = ({ probe: _p, latencies: _l, wallMs: _w, ...rest }: Awaited<ReturnType<typeof pass>>) =>
  rest;

const result = {
  benchmark: 'edge',
  date: new Date().toISOString(),
  command: ['npm run bench:edge', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(
    ' ',
  ),
  machine: {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: loadavg().map((v) => round(v, 2)),
  },
  wallSeconds: Math.round((performance.now() - started) / 1000),
  recording: {
    dir: recording.made ? '(temporary)' : recording.dir,
    made: recording.made,
    ...(recording.made
      ? { scenario: values.scenario, seed: Number(values.seed), minutes: Number(values.minutes) }
      : {}),
    cameras: layout.cameras.length,
    frames: inputAlone.frames,
    deviceMessages: inputAlone.deviceMessages,
    storeSeconds: inputAlone.storeSeconds,
    visits: recording.summary?.visits ?? null,
  },
  setup: {
    detectFps: 'every frame (replay thinning off: detectFps 0), so frames/s is the machine’s capacity',
    detectInFlight,
    detector: {
      model: detector.model.manifest.name,
      reid: config.reid,
      scoreThreshold: config.detectScore,
      workers: workers ?? 'default (min(2, cores))',
      intraOpThreads: threads ?? 1,
    },
    link: 'none: reports are counted, not stored in an outbox or sent',
    publisher: 'none: no live MQTT publishing',
    fusion: 'buildFusion(layout, catalog, the edge’s default config)',
  },
  definitions: {
    framesPerSecond:
      'frames through to the fusion (or, alone, out of the detector) / wall seconds of the pass, from the first input read to the loop’s end',
    baseline:
      'the detector stage alone (edge/vision/detector.ts, re-id as configured) in the edge’s own loop with a fusion that does nothing, on the recording’s first baselineFrames frames with the same detectInFlight, in the same process and run (before and after the whole edge); ratio = the whole edge’s frames/s over the same first baselineFrames frames / the mean of the baseline runs',
    frameToTrack:
      'wall ms from the loop taking a frame from the input to fusion.onDetections returning for it (tracker updated, tracks output emitted); detectMs is the part until the detections reach the fusion',
    weightToCart:
      'from the weight stage emitting a settled event (observe.weightEvent) to the first cart report naming it (weight:{eventId}); storeMs is the fusion’s store clock between the two (the wait for frames around the event, at most resolveWaitMs), stepWallMs the wall ms from the loop taking the oldest input the emitting tick acted on to the output; liveMs = storeMs + stepWallMs (live, store time is wall time); replayWallMs is wall time in this replay, faster than live',
    exitToClosed:
      'from a visit’s last MEMBER_EXITED report (tsMs = the exit passage’s) to its VISIT_CLOSED report’s tsMs in store time, plus stepWallMs as above = liveMs',
    cpu: 'fusion: wall ms inside onDevice/onDetections/tick (synchronous, on the loop thread); workers: ms the loader’s workers report per call (decode + preprocess + inference + postprocess); input: the recording read and decoded alone (pass 1); process: process.cpuUsage over the pass (all threads); mainThread: /proc/self/task/{pid}/stat',
    framesDropped:
      'the input’s counters; a replay hands every frame to the loop when it asks, so 0 means no frame was refused or unreadable, not that live would drop none',
  },
  targets,
  pass: targets.every((t) => t.pass),
  figures: {
    wholeEdgeFps: whole.framesPerSecond,
    detectorAloneFps: aloneFps,
    wholeEdgeFirstFramesFps: wholeFirstFps,
    baselineFrames,
    ratio,
    frameToTrackMs: frameToTrack,
    frameDetectMs: summarize(lat.frameToTrack.map((f) => f.detectMs)),
    frameFusionMs: summarize(lat.frameToTrack.map((f) => f.fusionMs)),
    weightToCart: {
      events: lat.weightToCart.length,
      eventsWithoutCart: lat.weightWithoutCart(),
      liveMs: weightLive,
      storeMs: summarize(lat.weightToCart.map((w) => w.storeMs)),
      stepWallMs: summarize(lat.weightToCart.map((w) => w.stepWallMs)),
      replayWallMs: summarize(lat.weightToCart.map((w) => w.replayWallMs)),
      emitAfterSettleStoreMs: summarize(lat.weightToCart.map((w) => w.emitAfterSettleMs)),
    },
    exitToClosed: {
      visits: lat.exitToClosed.length,
      closedWithoutExit: lat.closedWithoutExit,
      closedAfterInputEnd: probe.afterEnd().closes,
      outputsAfterInputEnd: probe.afterEnd().outputs,
      liveMs: exitLive,
      storeMs: summarize(lat.exitToClosed.map((e) => e.storeMs)),
      stepWallMs: summarize(lat.exitToClosed.map((e) => e.stepWallMs)),
      replayWallMs: summarize(lat.exitToClosed.map((e) => e.replayWallMs)),
    },
    cpuMsPerFrame: {
      fusionOnDetections: perFrame(fusionMs.onDetections.ms),
      fusionTick: perFrame(fusionMs.tick.ms),
      fusionOnDevice: perFrame(fusionMs.onDevice.ms),
      detectorWorkers: round(whole.workers.detector.meanMs.totalMs, 3),
      reidWorkers: round((whole.workers.reid.totalMs || 0) / Math.max(1, whole.loop.framesDetected), 3),
      inputRead: round(inputAlone.processCpuMs / Math.max(1, inputAlone.frames), 3),
      mainThread: whole.mainThreadCpuMs === null ? null : perFrame(whole.mainThreadCpuMs),
      process: perFrame(whole.processCpuMs),
    },
    fusionCalls: fusionMs,
    framesDropped: whole.frames.dropped,
  },
  passes: { input: inputAlone, detectorAlone: alone.map(stripRun), wholeEdge: stripRun(whole) },
};
writeFileSync(join(outDir, 'edge.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(
  join(outDir, 'edge.svg'),
  histogramChart({
    title: `Edge on replay: ${whole.framesPerSecond} frames/s (first ${baselineFrames}: ${wholeFirstFps}, detector alone ${aloneFps}, ratio ${ratio})`,
    panels: [
      {
        name: 'frame → track update',
        unit: 'ms',
        colour: '#2166ac',
        values: lat.frameToTrack.map((f) => f.totalMs),
      },
      {
        name: 'weight settled → cart event (live estimate)',
        unit: 'ms',
        colour: '#1b7837',
        values: lat.weightToCart.map((w) => w.liveMs),
      },
      {
        name: 'last exit → VISIT_CLOSED (live estimate)',
        unit: 'ms',
        colour: '#b2182b',
        values: lat.exitToClosed.map((e) => e.liveMs),
      },
    ],
  }),
);
for (const t of targets)
  say(`${t.pass ? 'met   ' : 'NOT MET'} ${t.name}: ${t.measured} (target ${t.target})`);
say(`wrote ${join(outDir, 'edge.json')} and edge.svg in ${result.wallSeconds} s`);
if (scratch && !values.keep) rmSync(scratch, { recursive: true, force: true });
else if (scratch) say(`kept the recording in ${recording.dir}`);
if (!result.pass) process.exitCode = 1;

function zeroTiming(): Timing {
  return { decodeMs: 0, preprocessMs: 0, inferMs: 0, postprocessMs: 0, totalMs: 0 };
}

function addTiming(sum: Timing, t: Timing): void {
  sum.decodeMs += t.decodeMs;
  sum.preprocessMs += t.preprocessMs;
  sum.inferMs += t.inferMs;
  sum.postprocessMs += t.postprocessMs;
  sum.totalMs += t.totalMs;
}

function meanTiming(sum: Timing, n: number): Timing {
  const d = Math.max(1, n);
  return {
    decodeMs: round(sum.decodeMs / d, 3),
    preprocessMs: round(sum.preprocessMs / d, 3),
    inferMs: round(sum.inferMs / d, 3),
    postprocessMs: round(sum.postprocessMs / d, 3),
    totalMs: round(sum.totalMs / d, 3),
  };
}
