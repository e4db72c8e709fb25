/**
 * A kept run's directory (bench:accuracy --dump DUMP, DUMP/{scenario}-{seed}) belongs to one run
 * at a time. Two runs given the same DUMP with overlapping seeds wrote over each other's
 * detections and truth (stop 34: seed 16's), so a run holds its directory by a pid file
 * (`.running`) and refuses one a live process holds. One left by a process that died is taken
 * over: the directory is rewritten from the start anyway.
 */
import { holdDirectory } from '../../platform/hold.ts';

/** Claims `dir` for this process; the returned function releases it. Throws when another holds it. */
export function claimDumpDir(dir: string): () => void {
  return holdDirectory(
    dir,
    '.running',
    (holder) =>
      new Error(
        `${dir} is being written by process ${holder} (another bench:accuracy with the same --dump and seed); ` +
          'give this run another --dump directory or wait for that one',
      ),
  );
}
