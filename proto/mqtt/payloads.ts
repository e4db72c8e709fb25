import { z } from 'zod';
import { WalkoutError } from '../errors.ts';
import { describeIssues, formatIssues } from '../validate.ts';
import { parseTopic, type TopicKind } from './topics.ts';

/** Epoch milliseconds of the device's clock (the simulated clock, in the simulator). */
const TsMs = z.number().int().nonnegative();
const Id = z.string().min(1).max(64);

/**
 * A batch of raw load-cell readings. Devices send raw grams, not events: deciding what a change
 * means is the edge's job, and raw samples let it re-run that decision with better logic.
 * null marks a sample the cell failed to deliver (a dropout), so timing stays implicit and exact.
 */
export const PlateSamples = z
  .object({
    plateId: Id,
    seq: z.number().int().nonnegative(),
    t0Ms: TsMs,
    sampleRateHz: z.number().positive(),
    grams: z.array(z.number().finite().nullable()).min(1).max(1000),
  })
  .strict();

export const GateScan = z
  .object({
    scanId: Id,
    gateId: Id,
    scannerId: Id,
    tsMs: TsMs,
    /** The QR code's text exactly as read; its meaning is the cloud's business. */
    qr: z.string().min(1).max(2048),
  })
  .strict();

export const GateCommand = z
  .object({
    commandId: Id,
    gateId: Id,
    tsMs: TsMs,
    action: z.enum(['open', 'deny']),
    /** The scan this answers, when it answers one. */
    scanId: Id.optional(),
    reason: z.string().max(200).optional(),
    /**
     * An `open` the cloud decided names the visit it admitted and the party's size, so that the
     * edge can bind the people crossing next to that visit (members in the order they cross).
     */
    visitId: Id.optional(),
    party: z.number().int().min(1).max(64).optional(),
  })
  .strict()
  .refine((c) => c.action === 'open' || (c.visitId === undefined && c.party === undefined), {
    message: 'only an open command admits a visit',
    path: ['visitId'],
  })
  .refine((c) => c.action === 'open' || (c.reason !== undefined && c.reason.length > 0), {
    message: 'a deny command needs a reason',
    path: ['reason'],
  });

export const GatePassage = z
  .object({
    passageId: Id,
    gateId: Id,
    sensorId: Id,
    tsMs: TsMs,
    direction: z.enum(['in', 'out']),
  })
  .strict();

export const DeviceStatus = z
  .object({
    deviceId: Id,
    /** `edge`: an edge's availability, which its live topics (edge/{edgeId}/...) depend on. */
    kind: z.enum(['plate', 'scanner', 'gate-sensor', 'gate', 'camera', 'edge']),
    status: z.enum(['online', 'offline']),
    /** Cameras say where their stream is, so consumers need no second configuration. */
    streamUrl: z.string().url().optional(),
    snapshotUrl: z.string().url().optional(),
  })
  .strict();

/*
 * An edge's live state (docs/mqtt.md, "Live state"). Every object (a track, a cart, a plate, an
 * alert) is announced `new` once, `update`d while it lives and `end`ed once; an edge ends by its
 * watchdog whatever goes quiet, so no consumer keeps a ghost on its map.
 */
const LiveEventType = z.enum(['new', 'update', 'end']);
const FloorXyM = z.tuple([z.number().finite(), z.number().finite()]);

export const TrackEvent = z
  .object({
    type: LiveEventType,
    trackId: Id,
    floorXyM: FloorXyM,
    velocityMps: FloorXyM,
    state: z.enum(['tentative', 'confirmed', 'lost']),
    /** Present once the track is bound to a visit (it crossed the entry gate on an admitted scan). */
    visitId: Id.optional(),
    memberNo: z.number().int().nonnegative().optional(),
  })
  .strict();

/** One message per publish tick: the event of every track live at that tick (and those that ended). */
export const EdgeTracks = z
  .object({
    edgeId: Id,
    tsMs: TsMs,
    tracks: z.array(TrackEvent).min(1).max(1000),
  })
  .strict();

const CartLine = z
  .object({
    sku: Id,
    /** Signed as the cart holds it: never below zero for a settled cart, but a live one may dip. */
    quantity: z.number().int(),
    /** Items sold by weight: grams; 0 otherwise. */
    grams: z.number().finite().nonnegative(),
    confidence: z.number().min(0).max(1),
    /** References to what put the line there (weight event ids, track ids). */
    evidence: z.array(z.string().min(1).max(128)).max(64),
  })
  .strict();

/** One message per change of a visit's live cart. */
export const EdgeCart = z
  .object({
    edgeId: Id,
    type: LiveEventType,
    tsMs: TsMs,
    visitId: Id,
    members: z
      .array(
        z
          .object({
            memberNo: z.number().int().nonnegative(),
            inside: z.boolean(),
            lines: z.array(CartLine).max(500),
          })
          .strict(),
      )
      .max(64),
    needsReview: z.boolean(),
  })
  .strict();

/** One message per plate whose stock, stability or health changed, and for all at a slow refresh. */
export const EdgePlate = z
  .object({
    edgeId: Id,
    type: LiveEventType,
    tsMs: TsMs,
    plateId: Id,
    /** The plate's weight is settled: its stock is a reading, not a guess mid-change. */
    stable: z.boolean(),
    /** Items on the plate by SKU, as the edge believes. */
    stock: z.record(Id, z.number().int().nonnegative()),
    /** Absent while the plate is healthy and never reported otherwise. */
    health: z
      .object({
        status: z.enum(['ok', 'dropout', 'stuck', 'silent']),
        sinceMs: TsMs,
        detail: z.string().max(200).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const ALERT_KINDS = ['tailgate', 'unattributed-event', 'sensor-fault', 'unknown-item'] as const;

/** Something a person should look at; it lives while the edge keeps raising it. */
export const EdgeAlert = z
  .object({
    edgeId: Id,
    type: LiveEventType,
    tsMs: TsMs,
    alertId: Id,
    kind: z.enum(ALERT_KINDS),
    detail: z.string().max(500),
    /** What the alert is about. */
    refs: z.object({ plateId: Id.optional(), trackId: Id.optional(), visitId: Id.optional() }).strict(),
  })
  .strict();

const Count = z.number().int().nonnegative();

/**
 * An edge's counters since it started, every few seconds (not live state: no new/update/end, each
 * message replaces the last). Whether the edge keeps up: frames dropped against processed per
 * camera, device messages refused, reports waiting for the cloud, live messages waiting for the broker.
 */
export const EdgeStats = z
  .object({
    edgeId: Id,
    /** The store clock when the counters were read. */
    tsMs: TsMs,
    /** Per camera: frames that arrived, went through the detector, were replaced before their turn. */
    cameras: z.record(Id, z.object({ received: Count, processed: Count, dropped: Count }).strict()),
    /** Device messages refused (malformed, unknown topic), by error code. */
    rejected: z.record(z.string().min(1).max(64), Count),
    /** The loop's own counts (edge/loop.ts LoopStats). */
    loop: z
      .object({
        inputs: Count,
        framesDetected: Count,
        deviceMessages: Count,
        reports: Count,
        detectionErrors: Count,
      })
      .strict(),
    /** The EdgeLink to the cloud; null for an edge with no cloud. `pending`: reports not yet acknowledged. */
    link: z
      .object({ connected: z.boolean(), lastSeq: Count, ackedSeq: Count, pending: Count })
      .strict()
      .nullable(),
    /** The live topics' own delivery: QoS 1 messages waiting, merged, dropped (queue full). */
    live: z.object({ queued: Count, coalesced: Count, dropped: Count, errors: Count }).strict(),
    /** Visits whose cart is live (entered, not yet closed). */
    visitsOpen: Count,
  })
  .strict();

export type PlateSamples = z.infer<typeof PlateSamples>;
export type GateScan = z.infer<typeof GateScan>;
export type GateCommand = z.infer<typeof GateCommand>;
export type GatePassage = z.infer<typeof GatePassage>;
export type DeviceStatus = z.infer<typeof DeviceStatus>;
export type LiveEventType = z.infer<typeof LiveEventType>;
export type TrackEvent = z.infer<typeof TrackEvent>;
export type EdgeTracks = z.infer<typeof EdgeTracks>;
export type EdgeCart = z.infer<typeof EdgeCart>;
export type EdgePlate = z.infer<typeof EdgePlate>;
export type EdgeAlert = z.infer<typeof EdgeAlert>;
export type EdgeStats = z.infer<typeof EdgeStats>;

export const payloadSchemas = {
  plateSamples: PlateSamples,
  gateScan: GateScan,
  gateCommand: GateCommand,
  gatePassage: GatePassage,
  deviceStatus: DeviceStatus,
  edgeTracks: EdgeTracks,
  edgeCarts: EdgeCart,
  edgePlates: EdgePlate,
  edgeAlerts: EdgeAlert,
  edgeStats: EdgeStats,
} as const satisfies Record<TopicKind, z.ZodType>;

export type PayloadOf<K extends TopicKind> = z.infer<(typeof payloadSchemas)[K]>;

export type DecodedMessage = {
  [K in TopicKind]: { kind: K; storeId: string; id: string; payload: PayloadOf<K> };
}[TopicKind];

/**
 * Decodes one MQTT message: the topic must be in the tree, the body JSON, the payload valid, and
 * the id in the topic must match the id in the payload. Throws a WalkoutError naming what is wrong.
 */
export function decodeMessage(topic: string, body: Buffer | string): DecodedMessage {
  const parsed = parseTopic(topic);
  if (!parsed) throw new WalkoutError('TOPIC_UNKNOWN', `${topic}: not a Walkout topic`, { topic });
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    throw new WalkoutError('PAYLOAD_INVALID', `${topic}: body is not JSON (${(err as Error).message})`, {
      topic,
    });
  }
  const result = payloadSchemas[parsed.kind].safeParse(json);
  if (!result.success) {
    const issues = describeIssues(result.error);
    throw new WalkoutError('PAYLOAD_INVALID', `${topic}: ${formatIssues(issues)}`, { topic, issues });
  }
  const payload = result.data as Record<string, unknown>;
  const idField = (
    {
      plateSamples: 'plateId',
      gateScan: 'gateId',
      gateCommand: 'gateId',
      gatePassage: 'gateId',
      deviceStatus: 'deviceId',
      edgeTracks: 'edgeId',
      edgeCarts: 'edgeId',
      edgePlates: 'edgeId',
      edgeAlerts: 'edgeId',
      edgeStats: 'edgeId',
    } satisfies Record<TopicKind, string>
  )[parsed.kind];
  if (payload[idField] !== parsed.id) {
    throw new WalkoutError(
      'PAYLOAD_INVALID',
      `${topic}: ${idField} ${String(payload[idField])} does not match the topic`,
      {
        topic,
      },
    );
  }
  return { ...parsed, payload } as DecodedMessage;
}
