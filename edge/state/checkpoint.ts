/**
 * The edge's checkpoint: the fusion's state (Fusion.snapshot) with where in its input it stood,
 * stored with the reports of the same fusion call in one commit (CheckpointStore: the outbox). After
 * a crash, the state on disk is exactly the state after the last reports on disk: a restarted edge
 * restores it, goes on from the input after that position, and makes every later report once.
 *
 * The position is exact for a replay (device messages are counted in the recording's order; frames
 * by capture time per camera, so frames in the detector at the checkpoint are read again). Live,
 * the store cannot be rewound: what the broker's persistent session kept while the edge was down is
 * delivered; what the edge took after its last checkpoint and before the crash is lost.
 */
import { deserialize, serialize } from 'node:v8';
import type { Logger } from '../../platform/log.ts';
import { isWalkoutError, WalkoutError } from '../../proto/index.ts';
import type { CheckpointStore, Report } from '../stages.ts';

/** How far the fusion had taken its input. */
export interface InputPosition {
  /** Device messages fused since the input began. */
  devices: number;
  /** Per camera: capture time (ms) of the newest frame fused (or refused by the detector). */
  framesMs: Record<string, number>;
}

export interface Checkpoint {
  /** What the input was (`live`, or `replay:` and the recording's directory): another is not resumed. */
  source: string;
  /** The store clock when it was taken: a restarted loop's clock starts here. */
  atMs: number;
  position: InputPosition;
  /** Fusion.snapshot(). */
  fusion: Uint8Array;
}

/** Raised when the checkpoint's own shape changes (the fusion's state has a version of its own). */
const CHECKPOINT_VERSION = 1;

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  return serialize({ version: CHECKPOINT_VERSION, ...c });
}

/** CHECKPOINT_INVALID when the bytes are not a checkpoint of this version. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  let c: Checkpoint & { version?: number };
  try {
    c = deserialize(bytes);
  } catch (err) {
    throw new WalkoutError('CHECKPOINT_INVALID', `checkpoint unreadable: ${(err as Error).message}`);
  }
  if (c?.version !== CHECKPOINT_VERSION || !(c.fusion instanceof Uint8Array))
    throw new WalkoutError('CHECKPOINT_INVALID', `checkpoint of version ${c?.version}`, {
      want: CHECKPOINT_VERSION,
    });
  return { source: c.source, atMs: c.atMs, position: c.position, fusion: c.fusion };
}

/**
 * The checkpoint in the store, restored into `fusion` when it was taken of the same source; null
 * (and `fusion` untouched) when there is none. A checkpoint that cannot be restored is logged and
 * `fresh` builds the fusion anew: the edge starts empty, as before checkpoints, rather than not at all.
 */
export function resumeFusion<F extends { restore(bytes: Uint8Array): void }>(
  store: CheckpointStore,
  source: string,
  fusion: F,
  fresh: () => F,
  log: Logger,
): { fusion: F; resumed: Checkpoint | null } {
  const bytes = store.checkpoint();
  if (!bytes) return { fusion, resumed: null };
  try {
    const c = decodeCheckpoint(bytes);
    if (c.source !== source) {
      log.warn('the saved state is of another input; starting empty', { saved: c.source, source });
      return { fusion, resumed: null };
    }
    fusion.restore(c.fusion);
    log.info('state restored', { atMs: c.atMs, devices: c.position.devices, bytes: bytes.length });
    return { fusion, resumed: c };
  } catch (err) {
    if (!isWalkoutError(err) || err.code !== 'CHECKPOINT_INVALID') throw err;
    log.error('the saved state cannot be restored; starting empty', { err: err.message });
    return { fusion: fresh(), resumed: null };
  }
}

/**
 * The loop's side: follows the input position as the fusion takes inputs, and stores each fusion
 * call's reports with a checkpoint. A call without reports stores nothing (a restart replays it),
 * unless `everyMs` of store time passed since the last checkpoint: live, that bounds what a crash
 * loses of what the broker no longer holds.
 */
export class Checkpointer {
  private readonly position: InputPosition;
  private lastMs: number;

  constructor(
    private readonly store: CheckpointStore,
    private readonly source: string,
    private readonly fusion: { snapshot(): Uint8Array },
    resumed: Checkpoint | null,
    private readonly everyMs: number,
  ) {
    this.position = resumed
      ? { devices: resumed.position.devices, framesMs: { ...resumed.position.framesMs } }
      : { devices: 0, framesMs: {} };
    this.lastMs = resumed?.atMs ?? Number.NEGATIVE_INFINITY;
  }

  fusedDevice(): void {
    this.position.devices += 1;
  }

  fusedFrame(cameraId: string, captureMs: number): void {
    this.position.framesMs[cameraId] = Math.max(this.position.framesMs[cameraId] ?? 0, captureMs);
  }

  /**
   * After a fusion call: its reports and the state now, durable together when the promise
   * resolves; null when there is nothing to store.
   */
  commit(reports: readonly { report: Report; timeMs: number }[], nowMs: number): Promise<void> | null {
    if (reports.length === 0 && !(nowMs - this.lastMs >= this.everyMs)) return null;
    this.lastMs = nowMs;
    const bytes = encodeCheckpoint({
      source: this.source,
      atMs: nowMs,
      position: this.position,
      fusion: this.fusion.snapshot(),
    });
    return this.store.reportAll(reports, bytes);
  }
}
