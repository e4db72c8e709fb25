/**
 * bench-accuracy's `--jobs N`: the seeds split into N contiguous ranges, each run by a child
 * process of the same command, so a 200-visit run uses every core. A child per range, not runs
 * side by side in one process: the simulator and the fusion of each run are busy on their main
 * thread, and one process has one. Each child writes its accuracy.json (per seed) and its
 * floor-track frames into its own directory, which the parent reads to score all seeds together.
 * The lockstep does not depend on the machine's speed (edge/loop.ts), so a seed gives the same
 * receipts in a child as alone.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MotFrame } from './mot-metrics.ts';
import type { ReceiptProblem } from './score.ts';

export interface JobResult {
  perSeed: Record<string, Record<string, number>>;
  imperfect: Record<string, (ReceiptProblem & { seed: number })[]>;
  frames: Record<string, MotFrame[]>;
}

/** [from, to] cut into at most `jobs` contiguous ranges of near-equal length. */
export function seedRanges(from: number, to: number, jobs: number): [number, number][] {
  const n = to - from + 1;
  const k = Math.max(1, Math.min(jobs, n));
  const out: [number, number][] = [];
  let start = from;
  for (let i = 0; i < k; i++) {
    const len = Math.floor(n / k) + (i < n % k ? 1 : 0);
    out.push([start, start + len - 1]);
    start += len;
  }
  return out;
}

/**
 * Runs this script once per range with `--seeds A-B --out {outDir}/job-A-B --frames-out FILE`
 * and the caller's other arguments; their output lines go to stderr prefixed with the range.
 * Rejects when a child fails.
 */
export async function runJobs(
  ranges: readonly [number, number][],
  args: readonly string[],
  outDir: string,
): Promise<JobResult[]> {
  return Promise.all(
    ranges.map(async ([a, b]) => {
      const dir = join(outDir, `job-${a}-${b}`);
      const frames = join(dir, 'frames.json');
      const childArgs = [...args, '--seeds', `${a}-${b}`, '--out', dir, '--frames-out', frames];
      await runChild(childArgs, `[seeds ${a}-${b}] `);
      const acc = JSON.parse(readFileSync(join(dir, 'accuracy.json'), 'utf8'));
      return {
        perSeed: acc.perSeed,
        imperfect: JSON.parse(readFileSync(join(dir, 'accuracy-imperfect.json'), 'utf8')),
        frames: JSON.parse(readFileSync(frames, 'utf8')),
      };
    }),
  );
}

function runChild(args: readonly string[], prefix: string): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let rest = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    const lines = (rest + chunk).split(/\r?\n|\r/);
    rest = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) process.stderr.write(`${prefix}${l}\n`);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (rest.trim()) process.stderr.write(`${prefix}${rest}\n`);
      if (code === 0) resolve();
      else reject(new Error(`${prefix.trim()} exited with ${code}`));
    });
  });
}
