/**
 * The values the edge's stages pass each other. Every stage is a pure core over these (state,
 * observations, time in, values out); sockets, brokers, files and clocks stay in edge/io and
 * edge/link. Times are epoch milliseconds of the store clock (`...Ms`); positions are store metres.
 */
import type { Detection } from '../models/runtime/index.ts';
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
}

/** A hand seen in a frame, linked to the person box that owns it and, through it, to a track. */
export interface HandSighting {
  cameraId: string;
  captureMs: number;
  /** Point on the hand's viewing ray, and the ray's direction: a 3D line the hand lies on. */
  rayOriginM: Vec3;
  rayDirection: Vec3;
  trackId: string | null;
  /** How the track was found: the person box the hand is in, or which track could reach it. */
  linkedBy?: 'box' | 'reach';
  score: number;
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
