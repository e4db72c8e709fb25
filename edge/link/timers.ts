/**
 * Timers passed in rather than read from the globals (as MQTT.js's get-timer does), so a test or a
 * replay can drive reconnects and timeouts on its own clock.
 */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** The wait before reconnect attempt `attempt` (0-based): capped exponential, with jitter taken off. */
export function backoffMs(
  attempt: number,
  cfg: { initialMs: number; maxMs: number; factor: number; jitter: number },
  random: () => number,
): number {
  const full = Math.min(cfg.maxMs, cfg.initialMs * cfg.factor ** Math.min(attempt, 64));
  return Math.round(full * (1 - cfg.jitter * random()));
}
