/**
 * One accuracy run: a scenario and seed simulated flat out with the edge in lockstep on its
 * traffic, then the edge's receipts scored against the truth the run wrote. The edge is the real
 * one (edge/wiring.ts, edge/loop.ts, the detector through the loader); only its link is an
 * in-memory collector, since the cloud's pricing is not what is measured here.
 */
import { copyFileSync, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FusionConfig } from '../../edge/fusion/config.ts';
import type { FusionOutput, ResolveTrace } from '../../edge/fusion/outputs.ts';
import { runLoop } from '../../edge/loop.ts';
import type { CloudLink, FrameDetector, Report, SecondLook } from '../../edge/stages.ts';
import type { WeightEvent } from '../../edge/types.ts';
import type { MainStreams } from '../../edge/vision/second-look.ts';
import { buildFusion } from '../../edge/wiring.ts';
import type { Logger } from '../../platform/log.ts';
import { systemWallClock } from '../../simulator/core/clock.ts';
import { createOfflineApp } from '../../simulator/io/offline-app.ts';
import type { Progress } from '../../simulator/run/runner.ts';
import { runSession } from '../../simulator/run/session.ts';
import type { LoadedScenario } from '../../simulator/scenario/load.ts';
import { detectionsLine } from './dets-line.ts';
import { LockstepInput, lockstepDevices, lockstepFrames } from './lockstep.ts';
import type { Score, TruthEvent, TruthVisit } from './score.ts';
import { scoreRun } from './score-run.ts';

export interface RunOptions {
  loaded: LoadedScenario;
  seed: number;
  minutes: number;
  /** Where the run's truth goes. */
  out: string;
  detector: FrameDetector;
  /**
   * The edge's configuration changed from its defaults (an experiment): tracker options, and
   * fusion options (nested, as FusionConfig has them).
   */
  overrides?: { tracker?: Record<string, unknown>; fusion?: Record<string, unknown> };
  /** False when the detector does not look at frames (recorded-detector.ts): none are drawn. */
  render?: boolean;
  /**
   * The second look (held-item model and classifier on main-stream crops of the hand, rendered by
   * the simulator as its cameras serve them), opened by the caller on the streams it is given.
   */
  secondLook?: (streams: MainStreams) => SecondLook;
  detectFps: number;
  log: Logger;
  onProgress?: (p: Progress) => void;
  /** Every track statement (floor positions), for the MOT scoring. */
  onTracks?: (o: Extract<FusionOutput, { kind: 'tracks' }>) => void;
  /**
   * Also write what the edge did into `out`/edge/ as JSONL, for benchmarks/accuracy/diagnose.ts:
   * weight-events.jsonl, reports.jsonl (each report with its store time), resolves.jsonl (per
   * weight event: the attribution's inputs and result, the member and lines it went to),
   * alerts.jsonl, tracks.jsonl (per track: birth, last sighting, the visits bound over time) and
   * positions.jsonl (every track's floor position and state, five times a store second); and
   * dets.jsonl (every frame's detections and re-id embeddings, as detect-recording.ts writes them)
   * with layout.json beside truth/, so bench-tracking.ts can replay the tracker on the run
   * (`--rec DUMP/baseline-N --dets DUMP/baseline-N/edge/dets.jsonl`).
   */
  dump?: boolean;
}

export interface RunResult {
  score: Score;
  weightEvents: WeightEvent[];
  reports: number;
  framesDetected: number;
  wallSeconds: number;
}

/** How often (store ms) a kept run writes every track's position. */
const POSITIONS_EVERY_MS = 200;

/** The link as a list: every report the edge would have sent, in order. */
function collector(into: Report[]): CloudLink {
  return {
    async report(r) {
      into.push(r);
    },
    async askGate() {
      return null;
    },
    status: () => ({ connected: true, lastSeq: into.length, ackedSeq: into.length, pending: 0 }),
    async close() {},
  };
}

export async function runOne(opts: RunOptions): Promise<RunResult> {
  const { loaded, seed } = opts;
  const started = performance.now();
  const input = new LockstepInput();
  const weightEvents: WeightEvent[] = [];
  const traces: ResolveTrace[] = [];
  const timedReports: { tsMs: number; report: Report }[] = [];
  const alerts: unknown[] = [];
  /** Per track: birth, last sighting and the visits it was labelled with over time (binding). */
  const trackLog = new Map<
    string,
    {
      trackId: string;
      bornMs: number;
      bornXyM: number[];
      lastMs: number;
      visits: { fromMs: number; visitId: string | null }[];
    }
  >();
  const positions: unknown[] = [];
  let nextPositionsMs = 0;
  const fusion = buildFusion(loaded.layout, loaded.catalog, {
    fusion: FusionConfig.parse(opts.overrides?.fusion ?? {}),
    weight: {},
    tracker: opts.overrides?.tracker ?? {},
    answersLooks: opts.secondLook !== undefined,
    observe: {
      weightEvent: (e) => weightEvents.push(e),
      ...(opts.dump ? { resolve: (t: ResolveTrace) => traces.push(t) } : {}),
    },
  });
  const reports: Report[] = [];
  // The cameras exist once the session starts: the look reads them through this.
  let streams: MainStreams | null = null;
  const secondLook = opts.secondLook?.((cameraId, frameIndex) => streams?.(cameraId, frameIndex) ?? null);
  const dets = opts.dump ? detectionsTap(opts.detector, opts.out, opts.loaded) : null;
  const loop = runLoop({
    ...(secondLook ? { secondLook } : {}),
    input,
    detector: dets?.detector ?? opts.detector,
    fusion,
    link: collector(reports),
    publisher: null,
    log: opts.log,
    detectInFlight: 2,
    onDetections: (d) => {
      input.fusedMs = Math.max(input.fusedMs, d.captureMs);
    },
    onOutput: (o) => {
      if (o.kind === 'tracks') opts.onTracks?.(o);
      if (o.kind === 'alert' && opts.dump) alerts.push(o.alert);
      if (o.kind === 'tracks' && opts.dump && o.tsMs >= nextPositionsMs) {
        nextPositionsMs = o.tsMs + POSITIONS_EVERY_MS;
        positions.push({
          tsMs: o.tsMs,
          tracks: o.tracks.map((t) => ({
            trackId: t.trackId,
            xyM: t.floorXyM.map((v) => Math.round(v * 100) / 100),
            state: t.state,
            ...(t.visitId ? { visitId: t.visitId } : {}),
          })),
        });
      }
      if (o.kind === 'tracks' && opts.dump)
        for (const t of o.tracks) {
          let row = trackLog.get(t.trackId);
          if (!row) {
            row = {
              trackId: t.trackId,
              bornMs: t.bornMs,
              bornXyM: [...t.bornXyM],
              lastMs: o.tsMs,
              visits: [],
            };
            trackLog.set(t.trackId, row);
          }
          row.lastMs = o.tsMs;
          const visitId = t.visitId ?? null;
          if (row.visits.at(-1)?.visitId !== visitId) row.visits.push({ fromMs: o.tsMs, visitId });
        }
      if (o.kind === 'report' && opts.dump) timedReports.push({ tsMs: o.tsMs, report: o.report });
    },
  });
  const offline = createOfflineApp(loaded.layout.storeId, `accuracy-${seed}`);
  try {
    await runSession({
      loaded,
      seed,
      minutes: opts.minutes,
      out: opts.out,
      app: offline,
      authority: { kind: 'local', verify: offline.verify },
      sink: (engine) => {
        const sink = lockstepDevices(input);
        for (const d of engine.devices()) sink.publish(engine.statusMessage(d, 'online'));
        return sink;
      },
      frames: (engine) => {
        const sink = lockstepFrames(engine, input, opts.detectFps, opts.render ?? true);
        streams = sink.mainStreams;
        return sink;
      },
      speed: null,
      wall: systemWallClock,
      mode: 'record',
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  } finally {
    input.end();
  }
  const stats = await loop;
  await dets?.close();
  if (opts.dump) {
    const dir = join(opts.out, 'edge');
    mkdirSync(dir, { recursive: true });
    const jsonl = (rows: unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('');
    writeFileSync(join(dir, 'weight-events.jsonl'), jsonl(weightEvents));
    writeFileSync(join(dir, 'reports.jsonl'), jsonl(timedReports));
    writeFileSync(join(dir, 'resolves.jsonl'), jsonl(traces));
    writeFileSync(join(dir, 'alerts.jsonl'), jsonl(alerts));
    writeFileSync(join(dir, 'tracks.jsonl'), jsonl([...trackLog.values()]));
    writeFileSync(join(dir, 'positions.jsonl'), jsonl(positions));
  }
  const truthVisits = JSON.parse(
    readFileSync(join(opts.out, 'truth', 'visits.json'), 'utf8'),
  ) as TruthVisit[];
  const truthEvents = readFileSync(join(opts.out, 'truth', 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as TruthEvent);
  const scored = scoreRun({
    truthVisits,
    truthEvents,
    reports,
    weightEvents,
    layout: loaded.layout,
    catalog: loaded.catalog,
  });
  return {
    score: scored,
    weightEvents,
    reports: reports.length,
    framesDetected: stats.framesDetected,
    wallSeconds: (performance.now() - started) / 1000,
  };
}

/** The detector, writing every frame's detections to `out`/edge/dets.jsonl as it answers. */
function detectionsTap(
  detector: FrameDetector,
  out: string,
  loaded: LoadedScenario,
): { detector: FrameDetector; close: () => Promise<void> } {
  mkdirSync(join(out, 'edge'), { recursive: true });
  copyFileSync(loaded.paths.layout, join(out, 'layout.json'));
  const file = createWriteStream(join(out, 'edge', 'dets.jsonl'));
  return {
    detector: {
      async detect(frame) {
        const f = await detector.detect(frame);
        file.write(`${detectionsLine(f, true)}\n`);
        return f;
      },
      close: () => detector.close(),
    },
    close: () =>
      new Promise<void>((resolve, reject) =>
        file.end((err?: Error | null) => (err ? reject(err) : resolve())),
      ),
  };
}
