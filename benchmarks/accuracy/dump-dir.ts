/**
 * A kept run's directory (bench:accuracy --dump DUMP, DUMP/{scenario}-{seed}) belongs to one run
 * at a time. Two runs given the same DUMP with overlapping seeds wrote over each other's
 * detections and truth (stop 34: seed 16's), so a run claims its directory with a lock file naming
 * its process and refuses one a live process holds. A lock left by a process that died is taken
 * over: the directory is rewritten from the start anyway.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const LOCK = '.running';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims `dir` for this process; the returned function releases it. Throws when another holds it. */
export function claimDumpDir(dir: string): () => void {
  const lock = join(dir, LOCK);
  try {
    writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number(readFileSync(lock, 'utf8').trim());
    if (holder !== process.pid && Number.isInteger(holder) && alive(holder))
      throw new Error(
        `${dir} is being written by process ${holder} (another bench:accuracy with the same --dump and seed); ` +
          'give this run another --dump directory or wait for that one',
      );
    writeFileSync(lock, `${process.pid}\n`);
  }
  return () => rmSync(lock, { force: true });
}
