import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report } from '../../stages.ts';

const SCRIPT = fileURLToPath(new URL('./append-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface Appender {
  child: ChildProcess;
  /** Resolves once the child has confirmed `n` reports durable; returns how many it confirmed. */
  confirmed(n: number): Promise<number>;
  /** SIGKILL, then the number of reports it had confirmed. */
  kill(): Promise<number>;
}

/** Starts append-child.ts under tsx's loader with the reports to append (see that file for the env). */
export function spawnAppender(
  env: Record<string, string>,
  reports: readonly Report[],
  timeMs: number,
): Appender {
  // A file, not the environment: one variable holds at most 128 KiB.
  const reportsFile = join(mkdtempSync(join(tmpdir(), 'walkout-appender-')), 'reports.json');
  writeFileSync(reportsFile, JSON.stringify(reports));
  // Node itself with tsx's loader, not the tsx CLI: the CLI runs the script in a grandchild that a
  // SIGKILL of the CLI would leave running.
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, ...env, REPORTS_FILE: reportsFile, TIME_MS: String(timeMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let count = 0;
  let buffered = '';
  const waiters = new Set<() => void>();
  // 'close' comes after the child's stdout is read to its end, so no confirmation is missed.
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const l of lines) if (/^\d+$/.test(l)) count = Number(l) + 1;
    for (const w of waiters) w();
  });
  return {
    child,
    confirmed: (n) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (count >= n) {
            waiters.delete(check);
            resolve(count);
          }
        };
        child.on('exit', (code) => reject(new Error(`appender exited (${code}) after ${count} reports`)));
        waiters.add(check);
        check();
      }),
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
      return count;
    },
  };
}
