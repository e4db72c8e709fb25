import type { Progress } from '../run/runner.ts';

/**
 * A one-line progress display on stderr: a bar while shoppers arrive, then a count of who is
 * still inside. On a non-TTY (CI logs) it prints a line every few seconds instead of redrawing.
 */
export function createProgressPrinter(stream: NodeJS.WriteStream = process.stderr): (p: Progress) => void {
  let lastLine = Number.NEGATIVE_INFINITY;
  return (p) => {
    const frac = Math.min(1, p.simSeconds / Math.max(1, p.arrivalSeconds));
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const phase = frac < 1 ? `${(frac * 100).toFixed(0).padStart(3)}%` : 'tail';
    const speed = p.wallSeconds > 0 ? (p.simSeconds / p.wallSeconds).toFixed(1) : '-';
    const text = `[${bar}] ${phase} sim ${fmt(p.simSeconds)} (${speed}x) inside ${p.inStore} picks ${p.picks} mqtt ${p.messages} frames ${p.frames}`;
    if (stream.isTTY) {
      stream.write(`\r${text}\x1b[K`);
    } else if (p.wallSeconds - lastLine >= 5) {
      lastLine = p.wallSeconds;
      stream.write(`${text}\n`);
    }
  };
}

function fmt(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return `${m}:${String(s).padStart(2, '0')}`;
}
