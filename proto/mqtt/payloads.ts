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
    kind: z.enum(['plate', 'scanner', 'gate-sensor', 'gate', 'camera']),
    status: z.enum(['online', 'offline']),
    /** Cameras say where their stream is, so consumers need no second configuration. */
    streamUrl: z.string().url().optional(),
    snapshotUrl: z.string().url().optional(),
  })
  .strict();

export type PlateSamples = z.infer<typeof PlateSamples>;
export type GateScan = z.infer<typeof GateScan>;
export type GateCommand = z.infer<typeof GateCommand>;
export type GatePassage = z.infer<typeof GatePassage>;
export type DeviceStatus = z.infer<typeof DeviceStatus>;

export const payloadSchemas = {
  plateSamples: PlateSamples,
  gateScan: GateScan,
  gateCommand: GateCommand,
  gatePassage: GatePassage,
  deviceStatus: DeviceStatus,
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
  const idField = {
    plateSamples: 'plateId',
    gateScan: 'gateId',
    gateCommand: 'gateId',
    gatePassage: 'gateId',
    deviceStatus: 'deviceId',
  }[parsed.kind];
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
