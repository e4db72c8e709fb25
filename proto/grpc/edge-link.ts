import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { z } from 'zod';

export const EDGE_LINK_PROTO = fileURLToPath(new URL('./edge_link.proto', import.meta.url));

/**
 * Both ends load the .proto at run time with the same options, so field names are camelCase,
 * 64-bit integers are numbers (sequence numbers and times stay far below 2^53), enums are their
 * names and the set member of each oneof is named by `body`.
 */
export const PROTO_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export function loadEdgeLink(): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync(EDGE_LINK_PROTO, PROTO_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    walkout: { edge: { v1: { EdgeLink: grpc.ServiceClientConstructor } } };
  };
  return pkg.walkout.edge.v1.EdgeLink;
}

const Uuid = z.uuid();
const Sku = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a SKU of the catalogue');

/** What a decoded EdgeMessage must also satisfy: protobuf checks types, this checks meaning. */
export const EdgeMessage = z.discriminatedUnion('body', [
  z.object({
    body: z.literal('hello'),
    seq: z.literal(0),
    timeMs: z.number(),
    hello: z.object({ software: z.string().max(200) }),
  }),
  z.object({
    body: z.literal('visit'),
    seq: z.number().int().positive(),
    timeMs: z.number().int().positive(),
    visit: z.object({
      visitId: Uuid,
      kind: z.enum(['MEMBER_ENTERED', 'MEMBER_EXITED', 'VISIT_CLOSED']),
      memberNo: z.number().int().min(0).max(9),
    }),
  }),
  z.object({
    body: z.literal('cart'),
    seq: z.number().int().positive(),
    timeMs: z.number().int().positive(),
    cart: z.object({
      visitId: Uuid,
      memberNo: z.number().int().min(0).max(9),
      sku: Sku,
      quantity: z
        .number()
        .int()
        .min(-50)
        .max(50)
        .refine((q) => q !== 0, 'quantity is not 0'),
      confidence: z.number().min(0).max(1),
      evidence: z.array(z.string().min(1).max(200)).max(20),
      grams: z.number().finite().min(-100_000).max(100_000),
    }),
  }),
  z.object({
    body: z.literal('shelf'),
    seq: z.number().int().positive(),
    timeMs: z.number().int().positive(),
    shelf: z.object({ plateId: z.string().min(1).max(64), grams: z.number().finite(), stable: z.boolean() }),
  }),
  z.object({
    body: z.literal('health'),
    seq: z.number().int().positive(),
    timeMs: z.number().int().positive(),
    health: z.object({
      component: z.string().min(1).max(100),
      status: z.enum(['ok', 'degraded', 'down']),
      detail: z.string().max(1000),
    }),
  }),
  z.object({
    body: z.literal('offlineEntry'),
    seq: z.number().int().positive(),
    timeMs: z.number().int().positive(),
    offlineEntry: z.object({
      visitId: Uuid,
      gateId: z.string().min(1).max(64),
      qr: z.string().min(1).max(2048),
    }),
  }),
  z.object({
    body: z.literal('gateScan'),
    seq: z.literal(0),
    timeMs: z.number(),
    gateScan: z.object({
      scanId: z.string().min(1).max(64),
      gateId: z.string().min(1).max(64),
      qr: z.string().min(1).max(2048),
    }),
  }),
]);
export type EdgeMessage = z.infer<typeof EdgeMessage>;
export type SequencedMessage = Exclude<EdgeMessage, { body: 'hello' | 'gateScan' }>;

export type CloudMessage =
  | { welcome: { storeId: string; ackedSeq: number } }
  | { ack: { seq: number } }
  | {
      gateDecision: {
        scanId: string;
        open: boolean;
        reason: string;
        message: string;
        visitId: string;
        party: number;
      };
    }
  | { config: { isOpen: boolean; capacity: number; entryKeysUrl: string } }
  | { rejected: { seq: number; code: string; reason: string } };
