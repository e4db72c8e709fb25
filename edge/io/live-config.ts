import { z } from 'zod';
import { WalkoutError } from '../../proto/errors.ts';
import { describeIssues, formatIssues } from '../../proto/validate.ts';

/** The live publisher's thresholds (docs/mqtt.md, "Live state"). Times are store-clock ms. */
const LiveConfigSchema = z
  .object({
    /**
     * Track messages per second at most, however often the loop states its tracks; the live map
     * needs at least 2 to move people smoothly.
     */
    trackRateHz: z.number().min(2).max(30).default(5),
    /**
     * The loop stated no tracks for this long (it stalled or stopped): every live track ends. A
     * track missing from a statement ends at once (the tracker dropped it).
     */
    trackQuietMs: z.number().int().positive().default(2_000),
    /**
     * A visit's cart not stated for this long ends. Carts change only on a pick, so the loop
     * restates open carts (an unchanged statement publishes nothing) well within it.
     */
    cartQuietMs: z
      .number()
      .int()
      .positive()
      .default(20 * 60_000),
    /** A plate neither in a stock statement nor in a health report for this long ends. */
    plateQuietMs: z
      .number()
      .int()
      .positive()
      .default(2 * 60_000),
    /** An alert not raised again for this long ends (the condition is over, or nobody says). */
    alertQuietMs: z.number().int().positive().default(60_000),
    /** Every live plate is published again this often, changed or not, for late subscribers. */
    plateRefreshMs: z.number().int().positive().default(10_000),
    /** Carts, plates and alerts waiting for a slow broker, at most (newest per object kept). */
    maxQueued: z.number().int().positive().default(2_000),
    /** QoS 1 messages handed to the MQTT client and not yet acknowledged, at most. */
    maxInFlight: z.number().int().positive().default(32),
    /**
     * The edge's counters (EdgeStats) are published this often, store ms: often enough for a
     * dashboard to show a queue growing, rare enough to cost nothing beside the tracks.
     */
    statsEveryMs: z.number().int().min(500).default(5_000),
    /** close() waits this long for the ends and the offline status to reach the broker. */
    closeTimeoutMs: z.number().int().positive().default(3_000),
  })
  .strict();

export type LiveConfig = Readonly<z.infer<typeof LiveConfigSchema>>;

/** Checks the options once, fills the defaults, and freezes the result. */
export function liveConfig(given: Partial<LiveConfig> = {}): LiveConfig {
  const result = LiveConfigSchema.safeParse(given);
  if (!result.success)
    throw new WalkoutError('CONFIG_INVALID', `live publisher: ${formatIssues(describeIssues(result.error))}`);
  return Object.freeze(result.data);
}
