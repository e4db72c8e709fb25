import cliProgress from 'cli-progress';
import type { Progress } from '../run/runner.ts';

/** Off a terminal (CI logs, a file) the bar is printed as a line this often instead of redrawn. */
export const PROGRESS_LINE_EVERY_MS = 5_000;
const BAR_WIDTH = 24;

export interface ProgressPrinter {
  (p: Progress): void;
  /** Draws the last state and ends the line; the bar's timer keeps the process alive until then. */
  stop(): void;
}

/**
 * A one-line progress display on stderr through cli-progress: a bar while shoppers arrive, then a
 * count of who is still inside.
 */
export function createProgressPrinter(
  stream: NodeJS.WritableStream = process.stderr,
  lineEveryMs = PROGRESS_LINE_EVERY_MS,
): ProgressPrinter {
  const bar = new cliProgress.SingleBar({
    stream,
    format: '[{bar}] {phase} sim {sim} ({speed}x) inside {inside} picks {picks} mqtt {mqtt} frames {frames}',
    barsize: BAR_WIDTH,
    barCompleteChar: '#',
    barIncompleteChar: '.',
    hideCursor: null,
    noTTYOutput: true,
    notTTYSchedule: lineEveryMs,
  });
  const print = (p: Progress) => {
    const total = Math.max(1, p.arrivalSeconds);
    const value = Math.min(total, p.simSeconds);
    const payload = {
      phase: value < total ? `${((value / total) * 100).toFixed(0).padStart(3)}%` : 'tail',
      sim: fmt(p.simSeconds),
      speed: p.wallSeconds > 0 ? (p.simSeconds / p.wallSeconds).toFixed(1) : '-',
      inside: p.inStore,
      picks: p.picks,
      mqtt: p.messages,
      frames: p.frames,
    };
    if (bar.isActive) bar.update(value, payload);
    else bar.start(total, value, payload);
  };
  return Object.assign(print, {
    stop: () => {
      if (bar.isActive) bar.stop();
    },
  });
}

function fmt(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return `${m}:${String(s).padStart(2, '0')}`;
}
