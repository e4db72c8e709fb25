import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ShopperApp } from '../agents/ports.ts';
import type { WallClock } from '../core/clock.ts';
import type { DeviceSink } from '../io/device-sink.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import { TruthRecorder } from '../truth/recorder.ts';
import { Engine } from './engine.ts';
import type { GateAuthority } from './gates.ts';
import { type FrameSink, type OutsideRequests, type Progress, runSimulation } from './runner.ts';

export interface SessionOptions {
  loaded: LoadedScenario;
  seed: number;
  minutes: number;
  out: string;
  app: ShopperApp;
  authority: GateAuthority;
  /** Builds the device sink once the engine exists (it needs the device list). */
  sink: (engine: Engine) => Promise<DeviceSink> | DeviceSink;
  frames?: ((engine: Engine) => Promise<FrameSink> | FrameSink) | undefined;
  speed: number | null;
  wall: WallClock;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  mode: 'live' | 'record';
  /** Requests to the cloud, which a run flat out waits for (see RunOptions.io). */
  io?: OutsideRequests | undefined;
}

export interface Summary {
  scenario: string;
  seed: number;
  mode: 'live' | 'record';
  simulatedSeconds: number;
  wallSeconds: number;
  speedFactor: number;
  shoppers: number;
  staff: number;
  visits: number;
  picks: number;
  putBacks: number;
  misplacedItems: number;
  handOffs: number;
  tailgates: number;
  restocks: number;
  sensorFaults: number;
  mqttMessages: number;
  frames: number;
  leftInside: number;
  aborted: boolean;
  groundTruthSha256: string;
}

/** One whole run: engine, devices, cameras and ground truth, ending with DIR/summary.json. */
export async function runSession(opts: SessionOptions): Promise<Summary> {
  const { loaded, seed } = opts;
  mkdirSync(opts.out, { recursive: true });
  const engine = new Engine({
    layout: loaded.layout,
    catalog: loaded.catalog,
    scenario: loaded.scenario,
    seed,
    app: opts.app,
    authority: opts.authority,
    minutes: opts.minutes,
  });
  const truth = new TruthRecorder(opts.out);
  const sink = await opts.sink(engine);
  const frames = opts.frames ? await opts.frames(engine) : undefined;
  let result: Awaited<ReturnType<typeof runSimulation>>;
  try {
    result = await runSimulation({
      engine,
      sink,
      frames,
      truth,
      speed: opts.speed,
      wall: opts.wall,
      onProgress: opts.onProgress,
      signal: opts.signal,
      io: opts.io,
    });
  } finally {
    await frames?.close();
    await sink.close();
  }
  const sha = truth.finish(engine.world, {
    scenario: loaded.scenario,
    seed,
    minutes: opts.minutes,
    storeId: loaded.layout.storeId,
    planogramSwaps: engine.planogramSwaps,
  });
  const c = truth.counts;
  const summary: Summary = {
    scenario: loaded.scenario.name,
    seed,
    mode: opts.mode,
    simulatedSeconds: result.simSeconds,
    wallSeconds: Math.round(result.wallSeconds * 1000) / 1000,
    speedFactor: Math.round((result.simSeconds / Math.max(1e-6, result.wallSeconds)) * 10) / 10,
    shoppers: c.shoppers,
    staff: c.staff,
    visits: c.visits,
    picks: c.picks,
    putBacks: c.putBacks,
    misplacedItems: c.misplaced,
    handOffs: c.handOffs,
    tailgates: c.tailgates,
    restocks: c.restocks,
    sensorFaults: c.sensorFaults,
    mqttMessages: result.messages,
    frames: result.frames,
    leftInside: result.leftInside,
    aborted: result.aborted,
    groundTruthSha256: sha,
  };
  writeFileSync(join(opts.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
