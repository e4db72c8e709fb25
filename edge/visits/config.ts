import { z } from 'zod';

export const VisitConfig = z
  .object({
    /**
     * How far (ms) a track's birth may be from the `in` passage it is bound to. Long: a party waits
     * at the gate, seen, while its payer scans once per member (measured: 5-7 s for a pair).
     */
    bindWindowMs: z.number().int().positive().default(15_000),
    /**
     * An `in` passage binds only a track through the gate line, or at most this far (m) short of it
     * (floor position error): the people still queueing behind the line did not cross.
     */
    crossedSlackM: z.number().nonnegative().default(0.15),
    /**
     * ...and not one still behind it this long (ms) after the passage: the one who crossed is past
     * the line by then (the tracker's lag and floor error allowed for).
     */
    crossedLagMs: z.number().int().nonnegative().default(1000),
    /** ...nor one already this far (m) past it that long before the passage. */
    crossedAheadM: z.number().nonnegative().default(0.5),
    /** A track less than this (m) past the line is taken only after crossedLagMs (see above). */
    crossedClearM: z.number().nonnegative().default(0.3),
    /** A track seen behind the line at most this long (ms) before the passage walked through it... */
    crossedBeforeMs: z.number().int().nonnegative().default(5000),
    /** ...and is waited for this long (ms) before a track born inside takes the crossing. */
    insideWaitMs: z.number().int().nonnegative().default(2000),
    /** How long (ms) a crossing waits for its track before it is settled without one. */
    bindWaitMs: z.number().int().positive().default(5000),
    /** Metres from a gate line's middle within which a track can be the one crossing it. */
    gateRadiusM: z.number().positive().default(2.5),
    /**
     * A member whose track is gone (lost, or never bound) adopts an unbound track born inside the
     * store (not at a gate) once it is this old (ms): the tracker lost the person and found them again.
     */
    adoptAfterMs: z.number().int().nonnegative().default(1500),
    /** Metres from where the member was last seen to where the adopted track was born. */
    adoptRadiusM: z.number().positive().default(3),
    /** An `open` nobody crossed on within this (ms) lapses: the shopper turned away. */
    admissionTtlMs: z.number().int().positive().default(120_000),
    /**
     * An unbound track older than a member's lost one is their twin (one person seen as two tracks
     * at the entry) only if it stands within this (m) of where the member was last seen...
     */
    twinRadiusM: z.number().positive().default(0.8),
    /** ...within this long (ms) of the loss... */
    twinWithinMs: z.number().int().positive().default(3000),
    /** ...and was born this close in time (ms) to the member's track, within twice twinRadiusM of it. */
    twinBornWithinMs: z.number().int().positive().default(3000),
    /**
     * The only member without a track and the only unbound track adopt each other once both have
     * been so this long (ms): long enough for the tracker to find a lost person again by itself.
     */
    soleAfterMs: z.number().int().nonnegative().default(5000),
    /** Command and passage ids remembered to drop QoS 1 redeliveries. */
    dedupeMemory: z.number().int().positive().default(10_000),
  })
  .strict();
export type VisitConfig = z.infer<typeof VisitConfig>;
