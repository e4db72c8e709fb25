/**
 * npm run bench:sim → benchmarks/results/sim.json
 * 1. Live: the reference store's 8 cameras at 10 frames/s, 640×480, rendered, encoded and streamed
 *    to real HTTP clients (curl, in other processes) while 30 shoppers are inside, at real time.
 *    Measures the simulator process's CPU share (1.0 = one core), frame rate and lag.
 * 2. Recording without cameras: how many times faster than real time 30 shoppers simulate.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveServices } from '../../platform/services.ts';
import { systemWallClock } from '../../simulator/core/clock.ts';
import { createCameraServer } from '../../simulator/io/camera-server.ts';
import { createLiveFrames } from '../../simulator/io/frame-sinks.ts';
import { connectDevices } from '../../simulator/io/mqtt-devices.ts';
import { createOfflineApp } from '../../simulator/io/offline-app.ts';
import { createRecordingSink } from '../../simulator/io/recording.ts';
import { runSession } from '../../simulator/run/session.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import { lineChart } from '../lib/svg-chart.ts';

/** Measure once this many shoppers are inside, or after this long, whichever comes first. */
const LIVE_WARM_SHOPPERS = 28;
const LIVE_WARMUP_MAX_S = Number(process.env.BENCH_WARMUP_S ?? 240);
const LIVE_MEASURE_S = Number(process.env.BENCH_MEASURE_S ?? 60);
const RECORD_MINUTES = Number(process.env.BENCH_RECORD_MIN ?? 20);
const scenarioFile = new URL('./bench-30.json', import.meta.url).pathname;
const resultsDir = new URL('../results/', import.meta.url).pathname;
const log = { debug() {}, info() {}, warn() {}, error() {}, child: () => log };

function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

interface LiveWindow {
  wallSeconds: number;
  simulatedSeconds: number;
  cpuShare: number;
  framesPerSecond: number;
  shoppersInsideMean: number;
  shoppersInsideMin: number;
}

async function live() {
  const loaded = loadScenario(scenarioFile);
  const services = await resolveServices({ needMqtt: true, log });
  const mqttUrl = services.mqttUrl!;
  const server = createCameraServer({ layout: loaded.layout });
  await server.listen(0, '127.0.0.1');
  const app = createOfflineApp(loaded.layout.storeId, 'bench');
  const controller = new AbortController();
  const out = mkdtempSync(join(tmpdir(), 'walkout-bench-live-'));
  const samples: { inStore: number; frames: number; lagMs: number }[] = [];
  const timeline: { t: number; cpu: NodeJS.CpuUsage; inStore: number; frames: number }[] = [];
  let window: { cpu: NodeJS.CpuUsage; wall: number; frames: number; sim: number } | null = null;
  let result: LiveWindow | null = null;
  const clients = loaded.layout.cameras.map((c) =>
    spawn('curl', ['-s', '-N', '-o', '/dev/null', server.cameraUrls(c.id).streamUrl], { stdio: 'ignore' }),
  );
  const session = runSession({
    loaded,
    seed: 1,
    minutes: 60,
    out,
    app,
    authority: { kind: 'local', verify: app.verify },
    sink: async (engine) =>
      connectDevices({
        url: mqttUrl,
        authority: services.mqttAuthority,
        storeId: loaded.layout.storeId,
        devices: engine.devices(),
        log,
      }),
    frames: (engine) => createLiveFrames({ engine, server, out }),
    speed: 1,
    wall: systemWallClock,
    signal: controller.signal,
    mode: 'live',
    onProgress: (p) => {
      timeline.push({ t: p.wallSeconds, cpu: process.cpuUsage(), inStore: p.inStore, frames: p.frames });
      if ((p.inStore >= LIVE_WARM_SHOPPERS || p.simSeconds >= LIVE_WARMUP_MAX_S) && !window) {
        window = { cpu: process.cpuUsage(), wall: performance.now(), frames: p.frames, sim: p.simSeconds };
        say(`live: warm (${p.inStore} shoppers inside), measuring ${LIVE_MEASURE_S} s...`);
      }
      if (window)
        samples.push({ inStore: p.inStore, frames: p.frames, lagMs: (p.wallSeconds - p.simSeconds) * 1000 });
      if (window && !result && p.simSeconds >= window.sim + LIVE_MEASURE_S) {
        const cpu = process.cpuUsage(window.cpu);
        const wallS = (performance.now() - window.wall) / 1000;
        result = {
          wallSeconds: wallS,
          simulatedSeconds: p.simSeconds - window.sim,
          cpuShare: (cpu.user + cpu.system) / 1e6 / wallS,
          framesPerSecond: (p.frames - window.frames) / wallS,
          shoppersInsideMean: samples.reduce((s, x) => s + x.inStore, 0) / samples.length,
          shoppersInsideMin: Math.min(...samples.map((x) => x.inStore)),
        };
        controller.abort();
      } else if (!window && Math.floor(p.simSeconds) % 10 === 0) {
        say(`live: warming up ${p.simSeconds.toFixed(0)} s, ${p.inStore}/${LIVE_WARM_SHOPPERS} inside`);
      }
    },
  });
  await session;
  for (const c of clients) c.kill();
  await server.close();
  await services.close();
  const r = result as LiveWindow | null;
  if (!r) throw new Error('live benchmark ended before its measuring window');
  const lagGrowthMs = samples.length > 1 ? samples.at(-1)!.lagMs - samples[0]!.lagMs : 0;
  writeChart(timeline);
  return {
    cameras: loaded.layout.cameras.length,
    fps: 10,
    resolution: '640x480',
    streamClients: clients.length,
    ...r,
    lagGrowthMs,
  };
}

/** CPU share, shoppers inside and frames per second over the live run, per 5-second window. */
function writeChart(timeline: { t: number; cpu: NodeJS.CpuUsage; inStore: number; frames: number }[]): void {
  const cpu: [number, number][] = [];
  const fps: [number, number][] = [];
  let last = timeline[0];
  for (const s of timeline) {
    if (!last || s.t - last.t < 5) continue;
    const dt = s.t - last.t;
    cpu.push([s.t, (s.cpu.user - last.cpu.user + s.cpu.system - last.cpu.system) / 1e6 / dt]);
    fps.push([s.t, (s.frames - last.frames) / dt]);
    last = s;
  }
  const svg = lineChart({
    title: 'Live simulator: 8 cameras x 10 frames/s, 640x480, streamed to 8 clients',
    xLabel: 'wall seconds since start (measuring window starts once 28 shoppers are inside)',
    series: [
      { name: 'CPU of the simulator process', unit: 'cores', colour: '#1f77b4', points: cpu, target: 1 },
      {
        name: 'shoppers inside',
        unit: 'people',
        colour: '#2ca02c',
        points: timeline.map((s) => [s.t, s.inStore]),
      },
      { name: 'frames delivered', unit: 'frames/s', colour: '#ff7f0e', points: fps, target: 80 },
    ],
  });
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'sim-live.svg'), svg);
}

async function record() {
  const loaded = loadScenario(scenarioFile);
  const dir = mkdtempSync(join(tmpdir(), 'walkout-bench-rec-'));
  const app = createOfflineApp(loaded.layout.storeId, 'bench');
  let inside: number[] = [];
  const summary = await runSession({
    loaded,
    seed: 1,
    minutes: RECORD_MINUTES,
    out: dir,
    app,
    authority: { kind: 'local', verify: app.verify },
    sink: () => createRecordingSink(dir),
    speed: null,
    wall: systemWallClock,
    mode: 'record',
    onProgress: (p) => {
      inside.push(p.inStore);
      if (inside.length % 4 === 0)
        say(
          `record: sim ${p.simSeconds.toFixed(0)} s at ${(p.simSeconds / Math.max(0.001, p.wallSeconds)).toFixed(0)}x, ${p.inStore} inside`,
        );
    },
  });
  inside = inside.filter((n) => n > 0);
  return {
    simulatedSeconds: summary.simulatedSeconds,
    wallSeconds: summary.wallSeconds,
    speedFactor: summary.speedFactor,
    shoppers: summary.shoppers,
    shoppersInsideMean: inside.reduce((a, b) => a + b, 0) / Math.max(1, inside.length),
    mqttMessages: summary.mqttMessages,
    picks: summary.picks,
  };
}

const liveResult = await live();
say(`live: cpu share ${liveResult.cpuShare.toFixed(2)}, ${liveResult.framesPerSecond.toFixed(1)} frames/s`);
const recordResult = await record();
say(`record: ${recordResult.speedFactor}x real time`);
const results = {
  benchmark: 'sim',
  date: new Date().toISOString(),
  machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
  command: 'npm run bench:sim',
  chart: 'benchmarks/results/sim-live.svg',
  live: liveResult,
  record: recordResult,
  targets: {
    liveCpuShareAtMost: 1,
    liveFramesPerSecondAtLeast: 8 * 10 * 0.98,
    recordSpeedFactorAtLeast: 50,
  },
  pass: {
    live: liveResult.cpuShare <= 1 && liveResult.framesPerSecond >= 8 * 10 * 0.98,
    record: recordResult.speedFactor >= 50,
  },
};
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'sim.json'), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
process.exit(0);
