import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Progress } from '../run/runner.ts';
import { createProgressPrinter } from './progress.ts';

const at = (simSeconds: number, wallSeconds: number): Progress => ({
  simSeconds,
  arrivalSeconds: 120,
  inStore: 3,
  picks: 4,
  messages: 5,
  frames: 6,
  wallSeconds,
});

describe('the progress line', () => {
  it('off a terminal, prints a line on its schedule: the arrivals bar, then the tail', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (c: Buffer) => {
      text += c.toString();
    });
    const print = createProgressPrinter(stream, 20);
    print(at(60, 30));
    await new Promise((r) => setTimeout(r, 60));
    print(at(150, 50));
    print.stop();
    const lines = text.split('\n').filter(Boolean);
    expect(lines[0]).toBe('[############............]  50% sim 1:00 (2.0x) inside 3 picks 4 mqtt 5 frames 6');
    expect(lines.at(-1)).toBe(
      '[########################] tail sim 2:30 (3.0x) inside 3 picks 4 mqtt 5 frames 6',
    );
    // No cursor movement or line clearing in a log file.
    expect(text).not.toContain('\x1b');
  });
});
