import { z } from 'zod';

/**
 * What the edge keeps of each resolved weight event for review (docs/edge.md, "Evidence"): its record
 * and the frames around it, from cameras that see its shelf, for `retentionDays`.
 */
export const EvidenceConfig = z
  .object({
    /** Keep evidence at all (a benchmark that only scores can turn it off). */
    keep: z.boolean().default(true),
    /** Days evidence stays on disk after it was written; then the sweep deletes it. */
    retentionDays: z.number().positive().max(3650).default(30),
    /**
     * Evidence kept on disk at most (bytes): past it the oldest hours go first, retention or not
     * (about 1 MB an event with its frames; 20 GiB hold 30 days of a store making 700 events a day).
     */
    maxBytes: z
      .number()
      .int()
      .min(1)
      .default(20 * 1024 ** 3),
    /** Frames kept from this long (ms) before the shelf first moved. */
    beforeMs: z.number().int().nonnegative().max(30_000).default(2000),
    /** ...to this long (ms) after it settled. */
    afterMs: z.number().int().nonnegative().max(30_000).default(1000),
    /** Recent frames held in memory per camera, at most (20 s at 5 detected frames a second). */
    ringFrames: z.number().int().min(1).max(10_000).default(100),
    /** ...and at most this many bytes of JPEG per camera. */
    ringBytes: z
      .number()
      .int()
      .min(1)
      .default(8 * 1024 * 1024),
    /**
     * A camera that sends nothing past an event's window is not waited for longer than this (ms of
     * frames from the other cameras): its frames so far are kept.
     */
    cameraGraceMs: z.number().int().nonnegative().default(3000),
    /** Address the HTTP server listens on (with --evidence-port). */
    host: z.string().min(1).default('127.0.0.1'),
    /** How often (wall ms) a live edge sweeps expired evidence. */
    sweepEveryMs: z.number().int().positive().default(3_600_000),
  })
  .strict();
export type EvidenceConfig = z.infer<typeof EvidenceConfig>;
