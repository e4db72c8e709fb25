/**
 * The simulated clock. The simulation advances in fixed steps whatever the speed, so a run's
 * outcome depends only on its seed; the speed factor only decides how long the runner waits
 * between steps.
 */
export interface SimClock {
  readonly startMs: number;
  readonly stepMs: number;
  /** Current simulated time, epoch milliseconds. */
  nowMs(): number;
  /** Steps taken so far. */
  steps(): number;
  advance(): number;
}

export function createSimClock(startMs: number, stepMs: number): SimClock {
  let n = 0;
  return {
    startMs,
    stepMs,
    nowMs: () => startMs + n * stepMs,
    steps: () => n,
    advance: () => {
      n += 1;
      return startMs + n * stepMs;
    },
  };
}

/** Wall-clock access, passed in so runners stay testable. */
export interface WallClock {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const systemWallClock: WallClock = {
  nowMs: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};
