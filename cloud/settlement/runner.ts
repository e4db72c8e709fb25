import { type ExpiryRun, expireQuietVisits } from './expire.ts';
import { type SettleDeps, type SettleResult, settle } from './settle.ts';

export interface SettlementRunner {
  /** Settle this visit soon; a visit already queued or running is not queued twice. */
  enqueue(visitId: string): void;
  /** Queues every closed visit whose edge has acknowledged all its reports; returns how many. */
  sweep(): Promise<number>;
  /** Ends open visits no edge ever reported on and releases their holds (expire.ts). */
  expire(): Promise<ExpiryRun>;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface RunnerOptions {
  concurrency?: number;
  sweepEveryMs?: number;
  /** OPEN_VISIT_TIMEOUT_MIN: how long an open visit may go without any edge report. */
  openVisitTimeoutMs?: number;
  onResult?: (visitId: string, result: SettleResult) => void;
}

/**
 * Settles visits as their closes become final, and sweeps for any the process missed: visits
 * closed before a crash, and those whose provider call failed and must be asked again.
 */
export function startSettlementRunner(deps: SettleDeps, opts: RunnerOptions = {}): SettlementRunner {
  const concurrency = opts.concurrency ?? 4;
  const queued = new Set<string>();
  const running = new Set<string>();
  const waiters: Array<() => void> = [];
  let stopped = false;

  const pump = () => {
    for (const visitId of queued) {
      if (running.size >= concurrency) break;
      if (running.has(visitId)) continue;
      queued.delete(visitId);
      running.add(visitId);
      void settle(deps, visitId)
        .then((result) => opts.onResult?.(visitId, result))
        .catch((err: unknown) =>
          deps.log.error('settlement failed; the sweep will retry it', { visitId, err }),
        )
        .finally(() => {
          running.delete(visitId);
          if (!stopped) pump();
          if (queued.size === 0 && running.size === 0) for (const w of waiters.splice(0)) w();
        });
    }
  };

  const enqueue = (visitId: string) => {
    if (stopped) return;
    queued.add(visitId);
    pump();
  };

  const sweep = async () => {
    const { rows } = await deps.db.query<{ id: string }>(
      `select v.id from visits v left join edge_links l on l.device_id = v.closed_by
       where v.status = 'closed' and (v.closed_by is null or l.acked_seq >= v.closed_seq)
         and not exists (select 1 from receipts r where r.visit_id = v.id and r.status = 'review')
       order by v.closed_at limit 1000`,
    );
    for (const r of rows) enqueue(r.id);
    return rows.length;
  };

  // One expiry run at a time: a slow provider must not let the next sweep start the same releases.
  let expiring: Promise<ExpiryRun> | null = null;
  const expire = (): Promise<ExpiryRun> => {
    expiring ??= expireQuietVisits(deps, opts.openVisitTimeoutMs ?? 3_600_000).finally(() => {
      expiring = null;
    });
    return expiring;
  };

  const timer = setInterval(() => {
    sweep().catch((err: unknown) => deps.log.warn('settlement sweep failed', { err }));
    expire().catch((err: unknown) => deps.log.warn('expiring quiet visits failed', { err }));
  }, opts.sweepEveryMs ?? 5000);
  timer.unref();

  return {
    enqueue,
    sweep,
    expire,
    idle: () =>
      queued.size === 0 && running.size === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r)),
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      queued.clear();
      while (running.size > 0) await new Promise((r) => setTimeout(r, 10));
    },
  };
}
