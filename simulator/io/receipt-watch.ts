/**
 * The phones' wait for their receipts: after a visit's party has walked out, its payer's app asks
 * the cloud for its issued receipts (`GET /v1/me/receipts`, as the app does) until a new one shows,
 * and the wait is measured in wall time, as the shopper lives it. It says whether the whole loop
 * (store, edge, cloud, payments) turns exits into receipts, and how fast.
 *
 * A new receipt goes to the account's oldest exit still waiting: the app cannot tell which of its
 * visits a receipt is for other than by order (the cloud's visit ids are not the simulator's).
 */
import type { Logger } from '../../platform/log.ts';

export interface ReceiptWatchConfig {
  /** Each waiting account asks this often (wall ms); also the resolution of the latencies. */
  pollEveryMs: number;
  /**
   * An exit whose receipt has not come after this long (wall ms) stops being asked about and counts
   * as given up: the receipt went to review, or the cloud never learnt the visit closed.
   */
  giveUpAfterMs: number;
}

/**
 * A quarter second: the latency target is 2 s, and asking once a second added up to a second to
 * each figure (a median of 0.5 s), more than the gap to the target.
 */
export const DEFAULT_RECEIPT_WATCH: ReceiptWatchConfig = { pollEveryMs: 250, giveUpAfterMs: 10 * 60_000 };

export interface ReceiptStats {
  /** Visits whose party walked out, with an app that waits for the receipt. */
  exits: number;
  /** Receipts that reached the app. */
  received: number;
  /** Exits still waiting for their receipt. */
  waiting: number;
  /** Exits that waited longer than giveUpAfterMs. */
  gaveUp: number;
  /** Wall ms from the exit to the app seeing the receipt; null before the first. */
  latencyMs: { median: number | null; max: number | null };
}

export interface ReceiptWatch {
  /** The account's shopper walked out (the whole party is out): wait for the receipt of it. */
  walkedOut(account: string): void;
  stats(): ReceiptStats;
  close(): void;
}

export function createReceiptWatch(opts: {
  /** The ids of the account's issued receipts (any order). A rejection is tried again next period. */
  list: (account: string) => Promise<string[]>;
  /** Wall clock, ms. */
  now: () => number;
  config?: Partial<ReceiptWatchConfig>;
  log?: Logger;
}): ReceiptWatch {
  const cfg = { ...DEFAULT_RECEIPT_WATCH, ...opts.config };
  /** Per account: exits waiting (wall ms, oldest first), receipts already matched, a request out. */
  const accounts = new Map<string, { exitsMs: number[]; seen: Set<string>; asking: boolean }>();
  const latencies: number[] = [];
  let exits = 0;
  let gaveUp = 0;
  let closed = false;

  async function ask(account: string, a: { exitsMs: number[]; seen: Set<string>; asking: boolean }) {
    a.asking = true;
    try {
      const ids = await opts.list(account);
      const seenAt = opts.now();
      for (const id of ids) {
        if (a.seen.has(id)) continue;
        a.seen.add(id);
        const exitMs = a.exitsMs.shift();
        // A receipt with no exit waiting: one given up on came late. It is seen, not timed.
        if (exitMs !== undefined) latencies.push(Math.max(0, seenAt - exitMs));
      }
    } catch (err) {
      opts.log?.debug('receipts not fetched; asking again', { account, err: (err as Error).message });
    } finally {
      a.asking = false;
    }
  }

  const timer = setInterval(() => {
    const nowMs = opts.now();
    for (const [account, a] of accounts) {
      while (a.exitsMs.length > 0 && nowMs - a.exitsMs[0]! > cfg.giveUpAfterMs) {
        a.exitsMs.shift();
        gaveUp += 1;
        opts.log?.warn('no receipt after an exit; given up', { account, afterMs: cfg.giveUpAfterMs });
      }
      if (a.exitsMs.length > 0 && !a.asking) void ask(account, a);
    }
  }, cfg.pollEveryMs);
  timer.unref();

  return {
    walkedOut(account) {
      if (closed) return;
      let a = accounts.get(account);
      if (!a) {
        a = { exitsMs: [], seen: new Set(), asking: false };
        accounts.set(account, a);
      }
      a.exitsMs.push(opts.now());
      exits += 1;
    },
    stats() {
      let waiting = 0;
      for (const a of accounts.values()) waiting += a.exitsMs.length;
      const sorted = [...latencies].sort((x, y) => x - y);
      return {
        exits,
        received: latencies.length,
        waiting,
        gaveUp,
        latencyMs: { median: median(sorted), max: sorted.at(-1) ?? null },
      };
    },
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}

function median(sorted: number[]): number | null {
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
