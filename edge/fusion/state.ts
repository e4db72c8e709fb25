/** The fusion's snapshot as bytes (Fusion.snapshot/restore), refused when of another shape. */
import { deserialize, serialize } from 'node:v8';
import { WalkoutError } from '../../proto/errors.ts';
import type { Track, WeightEvent } from '../types.ts';
import type { Given } from './swaps.ts';
import type { Unclaimed } from './unclaimed.ts';

/** Raised whenever what a snapshot holds changes shape: an older snapshot is then refused. */
export const FUSION_STATE_VERSION = 9;

/** A visit whose last member left at `tsMs`, waiting for the shelf events begun before. */
export interface Closing {
  visitId: string;
  tsMs: number;
  /** How long it may wait (ms): longer once a put-back of its own is held (closeWaitHeldMs). */
  waitMs?: number;
}

export interface FusionState {
  version: number;
  fusion: {
    unresolved: WeightEvent[];
    closing: Closing[];
    tracks: Track[];
    frameWatermarkMs: number;
    alerts: number;
    restatedMs: number;
    looking: [string, unknown][];
    early: [string, unknown][];
    unclaimed: Unclaimed[];
    given: Given[];
  };
  plateStock: unknown;
  book: unknown;
  carts: unknown;
  timeline: unknown;
  weights: unknown;
  contents: unknown;
  tracker: unknown;
}

/**
 * One structured clone of every part at once, so what parts share (a visit's members) stays shared.
 */
export function encodeFusionState(state: Omit<FusionState, 'version'>): Uint8Array {
  return serialize({ version: FUSION_STATE_VERSION, ...state } satisfies FusionState);
}

/** CHECKPOINT_INVALID: of another version, or damaged. */
export function decodeFusionState(bytes: Uint8Array): FusionState {
  let s: FusionState;
  try {
    s = deserialize(bytes) as FusionState;
  } catch (err) {
    throw new WalkoutError('CHECKPOINT_INVALID', `fusion state unreadable: ${(err as Error).message}`);
  }
  if (s?.version !== FUSION_STATE_VERSION)
    throw new WalkoutError('CHECKPOINT_INVALID', `fusion state of version ${s?.version}`, {
      want: FUSION_STATE_VERSION,
    });
  return s;
}
