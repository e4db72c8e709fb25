import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Directories held by this process, by their pid file. */
const held = new Set<string>();

/**
 * Holds `dir` for this process by a pid file in it (`file`), and returns the release. A pid file
 * rather than a lock: Node has no flock, and a SIGKILLed process leaves its file behind, so a pid
 * that is no longer alive frees the directory. `refuse` makes the error for a directory held by a
 * live process (another, or this one: `holder` is then this pid).
 */
export function holdDirectory(dir: string, file: string, refuse: (holder: number) => Error): () => void {
  const path = join(dir, file);
  if (held.has(path)) throw refuse(process.pid);
  let owner = Number.NaN;
  try {
    owner = Number(readFileSync(path, 'utf8'));
  } catch {
    // No owner yet.
  }
  if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) throw refuse(owner);
  writeFileSync(path, String(process.pid));
  held.add(path);
  return () => {
    held.delete(path);
    rmSync(path, { force: true });
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but is another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
