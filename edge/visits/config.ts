import { z } from 'zod';

export const VisitConfig = z
  .object({
    /** How far (ms) a track's birth may be from the `in` passage it is bound to. */
    bindWindowMs: z.number().int().positive().default(4000),
    /** How long (ms) a crossing waits for its track before it is settled without one. */
    bindWaitMs: z.number().int().positive().default(5000),
    /** Metres from a gate line's middle within which a track can be the one crossing it. */
    gateRadiusM: z.number().positive().default(2.5),
    /** An `open` nobody crossed on within this (ms) lapses: the shopper turned away. */
    admissionTtlMs: z.number().int().positive().default(120_000),
    /** Command and passage ids remembered to drop QoS 1 redeliveries. */
    dedupeMemory: z.number().int().positive().default(10_000),
  })
  .strict();
export type VisitConfig = z.infer<typeof VisitConfig>;
