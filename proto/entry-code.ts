import { z } from 'zod';

/**
 * What an entry code says: who pays, for how many people besides themselves, until when. The cloud
 * signs it (cloud/entry/codes.ts) and an edge admitting offline verifies it against the cloud's
 * published keys (edge/link/offline-gate.ts): one shape for both.
 */
export const EntryClaims = z
  .object({
    v: z.literal(1),
    /** The paying shopper. */
    sub: z.uuid(),
    /** Single use: the gate opens for a nonce once. */
    nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
    companions: z.number().int().min(0).max(9),
    iat: z.number().int(),
    exp: z.number().int(),
  })
  .strict();
export type EntryClaims = z.infer<typeof EntryClaims>;
