/**
 * The edge loop's stages as interfaces: edge/loop.ts receives implementations and never imports a
 * stage's concrete class, so tests and benchmarks drive it with real parts in any combination
 * (a recording instead of cameras, the simulator in lockstep instead of a broker).
 */
import type { SequencedMessage } from '../proto/grpc/edge-link.ts';
import type { DecodedMessage, EdgeStats, PlateSamples } from '../proto/mqtt/payloads.ts';
import type { Stateful } from './state/fields.ts';
import type {
  CameraFrame,
  CartLine,
  FrameDetections,
  HandSighting,
  IdentitySwap,
  LookAnswer,
  LookRequest,
  PlateHealth,
  Track,
  WeightEvent,
  WeightHypothesis,
} from './types.ts';

/** Per camera: frames that arrived, frames detected, frames skipped (newest frame wins). */
export interface FrameCounters {
  received: number;
  processed: number;
  dropped: number;
}

/** One thing for the loop to handle: a decoded device message, or a camera frame to detect. */
export type EdgeInput =
  | { kind: 'device'; message: DecodedMessage; tsMs: number }
  | { kind: 'frame'; frame: CameraFrame };

/**
 * Everything the store gives the edge, one input at a time. Live: device messages in the order the
 * broker delivered them (never dropped, never reordered), and camera frames newest first (a source
 * never queues frames: a frame replaced before the loop took it is dropped and counted; a camera
 * is also thinned to the configured detection rate). Replay: a recording's messages and frames
 * merged in store-clock order, none dropped but the thinning, as fast as the loop takes them.
 * `next()` resolves null when the source has ended (a replay's end; live, at close).
 */
export interface InputSource {
  next(): Promise<EdgeInput | null>;
  /** Per camera. */
  counters(): Record<string, FrameCounters>;
  /** The loop took this frame through the detector. */
  markProcessed(cameraId: string): void;
  /** Device messages refused (malformed, unknown topic), by error code. */
  rejected(): Record<string, number>;
  close(): Promise<void>;
}

export interface FrameDetector {
  detect(frame: CameraFrame): Promise<FrameDetections>;
  close(): Promise<void>;
}

/** A visit's live cart: one list of lines per member (member 0 pays). */
export interface VisitCart {
  visitId: string;
  members: { memberNo: number; lines: CartLine[]; inside: boolean }[];
  /** Some line needs a person to look: low confidence, an unknown item, a near tie. */
  needsReview: boolean;
}

export type AlertKind = 'tailgate' | 'unattributed-event' | 'sensor-fault' | 'unknown-item';

export interface Alert {
  alertId: string;
  kind: AlertKind;
  tsMs: number;
  detail: string;
  plateId?: string;
  trackId?: string;
  visitId?: string;
}

/**
 * Live state for the store map and the app. Every object published is `new` once, `update`d while it
 * lives and `end`ed once; an object not updated for the publisher's watchdog period is ended by it.
 */
export interface LivePublisher {
  tracks(tsMs: number, tracks: readonly (Track & { visitId?: string; memberNo?: number })[]): void;
  cart(tsMs: number, cart: VisitCart, ended: boolean): void;
  plates(
    tsMs: number,
    plates: readonly { plateId: string; stable: boolean; stock: Record<string, number> }[],
  ): void;
  plateHealth(tsMs: number, health: PlateHealth): void;
  alert(alert: Alert): void;
  /** Lets store time pass: ends what went quiet (the watchdog). */
  tick(nowMs: number): void;
  /**
   * Publishes the edge's counters (docs/mqtt.md, EdgeStats) when the publisher's stats period of
   * store time has passed since its last; `read` is called only then, so the loop may offer often.
   */
  publishStats(nowMs: number, read: () => EdgeCounters): void;
  close(): Promise<void>;
}

/** What the loop knows of its own health, for the stats topic; the publisher adds its own queue and the visits open. */
export type EdgeCounters = Pick<EdgeStats, 'cameras' | 'rejected' | 'loop' | 'link'>;

/** What the edge reports to the cloud: the EdgeLink's sequenced bodies. */
export type Report = DistributiveOmit<SequencedMessage, 'seq' | 'timeMs'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The cloud's answer to a gate scan the edge asked about (the edge as the gate's authority). */
export interface GateAnswer {
  open: boolean;
  reason: string;
  visitId: string;
  party: number;
}

/**
 * The EdgeLink as the loop sees it. `report` returns once the report is durable at the edge (in the
 * outbox on disk): from then on a crash, a restart or a cloud outage cannot lose it, and the link
 * delivers it exactly once, in order.
 */
export interface CloudLink {
  report(report: Report, timeMs: number): Promise<void>;
  /** null when the cloud cannot answer in time (the caller decides offline). */
  askGate(
    scan: { scanId: string; gateId: string; qr: string },
    timeoutMs: number,
  ): Promise<GateAnswer | null>;
  status(): { connected: boolean; lastSeq: number; ackedSeq: number; pending: number };
  close(): Promise<void>;
}

/**
 * Where the loop keeps the fusion's checkpoint (edge/state/checkpoint.ts): stored with the reports
 * of the same fusion call in one commit, so the state on disk is always the state after the last
 * reports on disk. The EdgeLink's outbox is one.
 */
export interface CheckpointStore {
  /** As `CloudLink.report` for each, in order, with the checkpoint: all durable, or none. */
  reportAll(reports: readonly { report: Report; timeMs: number }[], checkpoint: Uint8Array): Promise<void>;
  /** The checkpoint last stored, or null. */
  checkpoint(): Uint8Array | null;
}

/** Plate samples to settled weight events and plate health (edge/weight). */
export interface WeightStage extends Stateful {
  push(batch: PlateSamples): void;
  advance(nowMs: number): {
    events: WeightEvent[];
    health: PlateHealth[];
    /** A plate came back from a fault at another level: stock moved while nobody could see it. */
    faultChanges: { plateId: string; deltaG: number; fromMs: number; toMs: number }[];
  };
  /** Shelves with an event open or held now, and since when (a closing visit waits for them). */
  activeSince(): Map<string, number>;
  /** Settled additions held for confirmation, as the events they will be (early second looks). */
  held(): WeightEvent[];
  /** Makes a shelf's held addition final now (nobody is within reach to lift a hand off it). */
  confirm(shelfId: string): void;
}

/**
 * What a weight event was: products and quantities (signed as the cart: + taken), best first,
 * given what shoppers near the shelf carry; `doubt` says why the best reading should not be
 * trusted alone (null when it can be).
 */
export type IdentifyStage = (
  event: WeightEvent,
  carriedSkus: readonly string[],
) => {
  hypotheses: WeightHypothesis[];
  doubt: string | null;
  /** SKUs a second look should choose between (the reading's first); absent or empty: no look. */
  lookFor?: string[];
};

/**
 * The second look (edge/vision/second-look.ts): the held-item model and the classifier on the
 * main-stream crops of a hand. Resolves null when it saw no item (no views, frames gone, nothing
 * held); rejects only on a fault. The loop runs it beside the fusion and hands the answer back.
 */
export type SecondLook = (request: LookRequest) => Promise<LookAnswer | null>;

/** What the edge believes each plate holds (live state, not the planogram). */
export interface ContentsStage extends Stateful {
  applyHypothesis(h: WeightHypothesis): void;
  /** A plate's live stock: units by SKU. */
  units(plateId: string): Record<string, number>;
}

/** Frames' detections to floor tracks (edge/tracking). */
export interface TrackerStage extends Stateful {
  /**
   * `swaps`: identities exchanged back in this frame (what the ids did meanwhile is the other's);
   * `departing`: tracks of people gone out through the exit, still in view (for the map only);
   * `entering`: tentative tracks at the entry, shown before they are confirmed (for the map only).
   */
  update(frame: FrameDetections): {
    tracks: Track[];
    personTrack: (string | null)[];
    swaps?: IdentitySwap[];
    departing?: Track[];
    entering?: Track[];
  };
  /** The person left the store: the track ends now (it may still be followed out of view, as no one's). */
  end(trackId: string, tsMs: number): void;
}

/**
 * Hands in a frame, as viewing rays linked to their person's track (edge/tracking/hands.ts), by
 * the person boxes' tracks or, failing that, by which of the tracks (as of this frame) can reach.
 */
export type HandStage = (
  frame: FrameDetections,
  personTrack: readonly (string | null)[],
  tracks: readonly Track[],
) => HandSighting[];
