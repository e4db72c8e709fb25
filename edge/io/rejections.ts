import type { Logger } from '../../platform/log.ts';
import { type ErrorCode, isWalkoutError } from '../../proto/index.ts';

export interface RejectionLogConfig {
  /** Rejections of one code logged line by line in each period before the log thins out. */
  linesPerPeriod: number;
  /**
   * The period, in ms of the wall clock. Past its first lines a code's rejections are only counted,
   * and the next line logged says how many went unlogged: a flood of bad input cannot fill the disk,
   * and the log still shows it is happening.
   */
  periodMs: number;
}

export const DEFAULT_REJECTION_LOG: RejectionLogConfig = { linesPerPeriod: 10, periodMs: 10_000 };

interface PerCode {
  count: number;
  periodStartMs: number;
  loggedInPeriod: number;
  unlogged: number;
}

/**
 * Bad input refused by an input: counted by error code, logged with the reason, rate-limited per
 * code. Never throws: a rejection is the input's business, not the loop's.
 */
export class Rejections {
  private readonly byCode = new Map<string, PerCode>();

  constructor(
    private readonly log: Logger,
    /** What was refused, for the log line: 'MQTT message', 'camera frame'. */
    private readonly what: string,
    private readonly nowMs: () => number = Date.now,
    private readonly config: RejectionLogConfig = DEFAULT_REJECTION_LOG,
  ) {}

  /** Counts and logs `err` (a WalkoutError's code, else INTERNAL) with the fields that locate it. */
  add(err: unknown, fields: Record<string, unknown> = {}): void {
    const code: ErrorCode = isWalkoutError(err) ? err.code : 'INTERNAL';
    this.addCode(code, err instanceof Error ? err.message : String(err), fields);
  }

  addCode(code: ErrorCode, message: string, fields: Record<string, unknown> = {}): void {
    const now = this.nowMs();
    let c = this.byCode.get(code);
    if (!c) {
      c = { count: 0, periodStartMs: now, loggedInPeriod: 0, unlogged: 0 };
      this.byCode.set(code, c);
    }
    c.count += 1;
    if (now - c.periodStartMs >= this.config.periodMs) {
      c.periodStartMs = now;
      c.loggedInPeriod = 0;
    }
    if (c.loggedInPeriod >= this.config.linesPerPeriod) {
      c.unlogged += 1;
      return;
    }
    c.loggedInPeriod += 1;
    const unlogged = c.unlogged > 0 ? { unloggedBefore: c.unlogged } : {};
    c.unlogged = 0;
    this.log.warn(`${this.what} rejected`, { code, error: message, ...fields, total: c.count, ...unlogged });
  }

  counts(): Record<string, number> {
    return Object.fromEntries([...this.byCode].map(([code, c]) => [code, c.count]));
  }
}

/** Sums per-code counts of several inputs. */
export function sumCounts(...counts: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counts) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return out;
}
