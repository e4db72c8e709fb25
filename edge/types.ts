/**
 * The values the edge's stages pass each other. Every stage is a pure core over these (state,
 * observations, time in, values out); sockets, brokers, files and clocks stay in edge/io and
 * edge/link. Times are epoch milliseconds of the store clock (`...Ms`); positions are store metres.
 */
import type { Detection, PixelBox } from '../models/runtime/index.ts';
import type { Vec2, Vec3 } from '../proto/layout/schema.ts';

/** One camera frame as it arrived: detect-stream JPEG with its capture time. */
export interface CameraFrame {
  cameraId: string;
  /** The camera's X-Frame-Index: rises by one per frame the camera produced (gaps are drops). */
  frameIndex: number;
  captureMs: number;
  jpeg: Uint8Array;
}

/** A frame's detections (detect-stream pixels) and, per person, a re-id embedding when computed. */
export interface FrameDetections {
  cameraId: string;
  frameIndex: number;
  captureMs: number;
  detections: Detection[];
  /** Same length as `detections`; null where no embedding was computed (non-persons, or skipped). */
  embeddings?: (Float32Array | null)[];
  /** The arm-link model's answers (edge/vision/arms.ts): for a hand and a head, by detection index. */
  armLinks?: ArmLink[];
}

/** How likely the hand `hand` is the person's whose head is `head` (indexes into the detections). */
export interface ArmLink {
  hand: number;
  head: number;
  probability: number;
}

/**
 * A settled change on one shelf: what left (negative) or arrived (positive) between the stable
 * state before the shelf became active and the stable state after, spread over its plates.
 */
export interface WeightEvent {
  /** Deterministic: `${shelfId}@${startMs}`. */
  eventId: string;
  shelfId: string;
  /** The plates that changed, with their own change; together they make `deltaG`. */
  plates: { plateId: string; deltaG: number }[];
  deltaG: number;
  /** The shelf became active (first sample off its stable baseline). */
  startMs: number;
  /** The shelf was stable again; the event is final from here on. */
  settledMs: number;
  /** Where on the shelf the change happened: plates' centres weighted by |deltaG|. */
  positionM: Vec3;
  /**
   * Plates whose level rested between reaches (edge/weight/steps.ts): each step of theirs, in
   * order, when a plate's change came in two or more. Absent when every plate changed in one go.
   */
  steps?: { plateId: string; atMs: number; deltaG: number }[];
}

/** A plate's condition as its samples show it; anything but `ok` is reported as device health. */
export interface PlateHealth {
  plateId: string;
  status: 'ok' | 'dropout' | 'stuck' | 'silent';
  sinceMs: number;
  detail?: string;
}

/** One reading of a weight event: which products, how many of each (signed as the event). */
export interface WeightHypothesis {
  lines: { sku: string; plateId: string; quantity: number; grams?: number }[];
  /** Posterior over the hypotheses considered for the event; they sum to 1. */
  probability: number;
  logLikelihood: number;
}

/** A person on the floor, fused over every camera. */
export interface Track {
  trackId: string;
  floorXyM: Vec2;
  velocityMps: Vec2;
  /** Seen recently enough to be trusted (matched in the last frames); lost tracks coast. */
  state: 'tentative' | 'confirmed' | 'lost';
  bornMs: number;
  lastSeenMs: number;
  /** Where the track started on the floor (visit binding looks for births at the entry gate). */
  bornXyM: Vec2;
  /** Reported where its heads' size places a crouching person (tracking/config.ts crouchPlaceDropM). */
  crouching?: boolean;
}

/** A hand seen in a frame, linked to the person box that owns it and, through it, to a track. */
export interface HandSighting {
  cameraId: string;
  captureMs: number;
  /** Point on the hand's viewing ray, and the ray's direction: a 3D line the hand lies on. */
  rayOriginM: Vec3;
  rayDirection: Vec3;
  trackId: string | null;
  /**
   * How the track was found: the person box the hand is in, which track could reach it (no box
   * gave one), the track standing clearly nearer the hand's ray than the box's (`nearer`), or the
   * head the arm-link model clearly joined it to (`arm`).
   */
  linkedBy?: 'box' | 'reach' | 'nearer' | 'arm';
  score: number;
  /** The frame it was seen in (X-Frame-Index) and its box there (detect-stream pixels): where a second look reads the main stream. */
  frameIndex?: number;
  bboxPx?: PixelBox;
}

/**
 * Two tracks that had swapped people in a crowd exchanged identities back (edge/tracking/identity.ts):
 * from `sinceMs` (the later of the times each last looked like itself) to `atMs`, each id may have
 * followed the other's person.
 */
export interface IdentitySwap {
  trackIds: [string, string];
  atMs: number;
  sinceMs: number;
}

/** A line of a live cart: one member's product, with the evidence that put it there. */
export interface CartLine {
  sku: string;
  quantity: number;
  /** Items sold by weight: grams; 0 otherwise. */
  grams: number;
  confidence: number;
  evidence: string[];
}

/**
 * A second look at a weight event the weights cannot settle alone (near-equal weights among the
 * candidates, an item come back to a plate that did not hold it): the hand of the person it was
 * attributed to, in the frames around the event, through the held-item model and the classifier.
 */
export interface LookRequest {
  eventId: string;
  shelfId: string;
  plateIds: string[];
  /** What the hand did: took the item off the shelf (it is in the hand after) or put it on (before). */
  direction: 'take' | 'put';
  /**
   * What the look answers: which candidate the item is (`product`, the default), or whose hand
   * holds it (`holder`: the views come from each contested track's hands, and the answer gives
   * every view read, an empty hand too).
   */
  purpose?: 'product' | 'holder';
  /** SKUs the answer chooses between, the weight's reading first. */
  candidates: string[];
  /** Where to look, best first: the attributed track's hand in the frames around the event. */
  views: { cameraId: string; frameIndex: number; captureMs: number; bboxPx: PixelBox; trackId?: string }[];
  /** Store time the look was asked; the fusion resolves without it from `deadlineMs` on. */
  askedMs: number;
  deadlineMs: number;
}

/** What a second look saw; the stage answers null when it found no item to classify. */
export interface LookAnswer {
  /** Over the request's candidates, summing to 1 (the classifier's, restricted to them). */
  probabilities: Record<string, number>;
  /** How much of the classifier's belief fell on the candidates at all (0..1). */
  candidateMass: number;
  /** The classifier rejected the item as none it knows. */
  unknown: boolean;
  /** The views that gave an item, with the item's box and what the classifier said of it. */
  looked: {
    cameraId: string;
    frameIndex: number;
    itemPx: PixelBox;
    itemScore: number;
    sku: string | null;
    probability: number;
  }[];
  /**
   * A holder look's every view read, item or not: the best item's score near the hand (0: none)
   * and how much of the classifier's belief in it fell on the candidates (0 for an unknown item).
   */
  views?: {
    cameraId: string;
    frameIndex: number;
    captureMs: number;
    trackId?: string;
    itemScore: number;
    candidateMass: number;
  }[];
}
