import { z } from 'zod';

export const VisitConfig = z
  .object({
    /** A crossing is bound once frames this long (ms) after it have been seen. */
    bindAfterMs: z.number().int().nonnegative().default(400),
    /** How long (ms) a crossing waits for its track before it is settled without one. */
    bindWaitMs: z.number().int().positive().default(5000),
    /** Metres from a gate's line within which a track, at the moment of a passage, can be the one crossing. */
    gateRadiusM: z.number().positive().default(1.2),
    /**
     * A member left without a track at its crossing takes an unbound track born this close (ms) to
     * its passage, later.
     */
    lateBindMs: z.number().int().positive().default(8000),
    /** An `open` nobody crossed on within this (ms) lapses: the shopper turned away. */
    admissionTtlMs: z.number().int().positive().default(120_000),
    /** Command and passage ids remembered to drop QoS 1 redeliveries. */
    dedupeMemory: z.number().int().positive().default(10_000),
  })
  .strict();
export type VisitConfig = z.infer<typeof VisitConfig>;
