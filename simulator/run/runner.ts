import type { WallClock } from '../core/clock.ts';
import type { DeviceSink } from '../io/device-sink.ts';
import type { TruthRecorder } from '../truth/recorder.ts';
import type { Person } from '../world/types.ts';
import type { Engine, FrameDue } from './engine.ts';

/** Renders and delivers camera frames (to a stream server when live, to files when recording). */
export interface FrameSink {
  deliver(due: readonly FrameDue[], persons: readonly Person[]): Promise<void> | void;
  readonly frames: number;
  close(): Promise<void>;
}

export interface Progress {
  simSeconds: number;
  arrivalSeconds: number;
  inStore: number;
  picks: number;
  messages: number;
  frames: number;
  wallSeconds: number;
}

export interface RunOptions {
  engine: Engine;
  sink: DeviceSink;
  frames?: FrameSink | undefined;
  truth: TruthRecorder;
  /** Simulated seconds per wall second; null runs as fast as possible. */
  speed: number | null;
  wall: WallClock;
  onProgress?: (p: Progress) => void;
  progressEveryMs?: number;
  signal?: AbortSignal;
  /** A run never goes on longer than this after arrivals stop, whoever is still inside. */
  maxTailMinutes?: number;
  /**
   * Requests to the outside (the cloud) still unanswered. Flat out, the runner waits for them
   * before the next step, so answers that take real milliseconds arrive in no simulated time.
   */
  io?: OutsideRequests | undefined;
}

export interface OutsideRequests {
  readonly size: number;
  settled(): Promise<void>;
}

export interface RunResult {
  simSeconds: number;
  wallSeconds: number;
  messages: number;
  frames: number;
  /** People still inside when the run was cut short. */
  leftInside: number;
  aborted: boolean;
}

/** Steps the engine until everyone has left, pacing it against the wall clock when a speed is set. */
export async function runSimulation(opts: RunOptions): Promise<RunResult> {
  const { engine, sink, truth, wall } = opts;
  const startWall = wall.nowMs();
  const startSim = engine.clock.nowMs();
  const endSim = startSim + engine.arrivalsUntilMs + (opts.maxTailMinutes ?? 30) * 60_000;
  let lastProgress = -Infinity;
  let aborted = false;
  const progress = (): Progress => ({
    simSeconds: (engine.clock.nowMs() - startSim) / 1000,
    arrivalSeconds: engine.arrivalsUntilMs / 1000,
    inStore: engine.persons().filter((p) => p.inStore).length,
    picks: truth.counts.picks,
    messages: sink.published,
    frames: opts.frames?.frames ?? 0,
    wallSeconds: (wall.nowMs() - startWall) / 1000,
  });
  for (let n = 0; !engine.done() && engine.clock.nowMs() < endSim; n++) {
    if (opts.signal?.aborted) {
      aborted = true;
      break;
    }
    const step = engine.step();
    for (const m of step.messages) sink.publish(m);
    truth.addEvents(step.truth);
    truth.addFaults(step.faults);
    if (step.frames.length > 0) {
      const persons = engine.persons();
      truth.addPositions(step.tsMs, persons);
      if (opts.frames) await opts.frames.deliver(step.frames, persons);
    }
    if (opts.speed !== null) {
      const aheadMs = (step.tsMs - startSim) / opts.speed - (wall.nowMs() - startWall);
      if (aheadMs > 1) await wall.sleep(aheadMs);
      else if (n % 4 === 0) await new Promise((r) => setImmediate(r));
    } else if (opts.io && opts.io.size > 0) {
      await opts.io.settled();
    } else if (n % 50 === 0) {
      // Let sockets and timers breathe even when running flat out.
      await new Promise((r) => setImmediate(r));
    }
    const now = wall.nowMs();
    if (opts.onProgress && now - lastProgress >= (opts.progressEveryMs ?? 500)) {
      lastProgress = now;
      opts.onProgress(progress());
    }
  }
  opts.onProgress?.(progress());
  return {
    simSeconds: (engine.clock.nowMs() - startSim) / 1000,
    wallSeconds: (wall.nowMs() - startWall) / 1000,
    messages: sink.published,
    frames: opts.frames?.frames ?? 0,
    leftInside: engine.persons().filter((p) => p.inStore).length,
    aborted,
  };
}
