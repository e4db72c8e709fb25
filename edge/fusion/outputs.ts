/** What the fusion gives out (edge/fusion/engine.ts), and what it tells a diagnostic tap. */
import type { Vec2 } from '../../proto/layout/schema.ts';
import type { Alert, Report, VisitCart } from '../stages.ts';
import type {
  HandSighting,
  LookRequest,
  PlateHealth,
  Track,
  WeightEvent,
  WeightHypothesis,
} from '../types.ts';
import type { Attribution } from './attribute.ts';
import type { HolderVerdict } from './holder.ts';
import type { LookOutcome } from './look.ts';
import type { PlateStatement } from './plate-stock.ts';

export type FusionOutput =
  | { kind: 'report'; report: Report; tsMs: number }
  | { kind: 'cart'; cart: VisitCart; ended: boolean; tsMs: number }
  | { kind: 'alert'; alert: Alert }
  | { kind: 'health'; health: PlateHealth }
  | { kind: 'tracks'; tsMs: number; tracks: (Track & { visitId?: string; memberNo?: number })[] }
  | { kind: 'plates'; tsMs: number; plates: PlateStatement[] }
  /** Asks the SecondLook stage; its answer comes back through `onLook`. */
  | { kind: 'look'; request: LookRequest };

/**
 * What the fusion knew when it resolved a weight event: its attribution's inputs and result, and
 * what it did. For benchmarks and diagnostics (benchmarks/accuracy/diagnose.ts); the fusion never
 * reads it back.
 */
export interface ResolveTrace {
  event: WeightEvent;
  /** Every reading identification considered, best first (evidence keeps them for review). */
  hypotheses: WeightHypothesis[];
  /** Hand sightings and track positions from `traceBeforeMs` before the event to 1 s after it. */
  sightings: HandSighting[];
  /** Every track seen around the event, where it stood, and the visit member it is bound to. */
  tracks: {
    trackId: string;
    samples: { tsMs: number; xyM: Vec2 }[];
    member: { visitId: string; memberNo: number } | null;
  }[];
  attribution: Attribution;
  member: { visitId: string; memberNo: number } | null;
  lines: { sku: string; quantity: number }[];
  doubt: string | null;
  confidence: number;
  review: boolean;
  /** A plate's change split by reach (reaches.ts): whose cart each share went to. */
  reaches?: { visitId: string; memberNo: number; lines: { sku: string; quantity: number }[] }[];
  /** What a second look did to the reading, when one was asked. */
  look?: { outcome: LookOutcome; evidence: string | null };
  /** What a holder look saw (holder.ts), when one was asked: `attribution` is after it. */
  holder?: HolderVerdict;
}
