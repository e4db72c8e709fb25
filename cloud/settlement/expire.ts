import { audit } from '../db/audit.ts';
import { inTransaction } from '../db/pool.ts';
import { unreported } from '../db/reports.ts';
import { placeHoldNow } from '../entry/hold.ts';
import { recordedCall } from '../payments/ledger.ts';
import type { SettleDeps } from './settle.ts';

/**
 * Visits that were admitted but never heard of again. When the cloud dies right after committing
 * an admission, the gate never gets its answer and the shopper does not come in (or comes in on a
 * fresh code after the gate asked again in vain): the visit stays `open` with a hold on the card
 * and no edge ever reports on it. After OPEN_VISIT_TIMEOUT_MIN with no report at all (no member
 * entered or left, no cart event) it ends `expired`, in the audit log as `visit.expired`, and its
 * hold is released under `release:<visit>`, the key settlement would have used, so whatever
 * happens the provider releases it once. A report arriving later is refused (VISIT_NOT_OPEN).
 * Entries the edge admitted offline are left alone: their gate opened, someone is inside. So is a
 * visit at a store whose edge has not been heard from since the visit opened (its link is down:
 * the reports may be waiting at the edge); a store that never had an edge link has nobody to
 * report, and the time alone decides.
 */

/** How far back an expired visit's release is still retried (the provider down for that long). */
const RELEASE_RETRY_DAYS = 7;

export interface ExpiryRun {
  expired: string[];
  /** Expired visits whose hold is now released (or had nothing to release). */
  released: number;
}

export async function expireQuietVisits(deps: SettleDeps, timeoutMs: number): Promise<ExpiryRun> {
  const now = deps.now();
  const { rows } = await deps.db.query<{ id: string }>(
    `select v.id from visits v
     where v.status = 'open' and v.entry = 'gate' and v.opened_at < $1 and ${unreported('v.id')}
       and (exists (select 1 from edge_links l join devices d on d.id = l.device_id
                    where d.store_id = v.store_id and l.last_seen_at > v.opened_at)
            or not exists (select 1 from edge_links l join devices d on d.id = l.device_id
                           where d.store_id = v.store_id))
     order by v.opened_at limit 100`,
    [new Date(now.getTime() - timeoutMs)],
  );
  const expired: string[] = [];
  for (const { id } of rows) if (await expireOne(deps, id, now, timeoutMs)) expired.push(id);
  return { expired, released: await releaseExpiredHolds(deps, now) };
}

/**
 * Ends one visit if it is still open and still unreported. The row is locked first and the reports
 * looked for after (a new snapshot): a batch of the edge's that holds the visit's row shared is
 * either committed and seen, or waits and then finds the visit expired.
 */
async function expireOne(deps: SettleDeps, visitId: string, now: Date, timeoutMs: number): Promise<boolean> {
  return inTransaction(deps.db, async (tx) => {
    const v = await tx.query<{ store_id: string; payer_id: string; opened_at: Date }>(
      `select store_id, payer_id, opened_at from visits where id = $1 and status = 'open' for update`,
      [visitId],
    );
    const visit = v.rows[0];
    if (!visit) return false;
    const quiet = await tx.query<{ quiet: boolean }>(`select ${unreported('$1::uuid')} as quiet`, [visitId]);
    if (!quiet.rows[0]!.quiet) return false;
    await tx.query(`update visits set status = 'expired', closed_at = $2 where id = $1`, [visitId, now]);
    await audit(tx, {
      actor: 'settlement',
      storeId: visit.store_id,
      action: 'visit.expired',
      subject: visitId,
      details: {
        payerId: visit.payer_id,
        openedAt: visit.opened_at.toISOString(),
        timeoutMinutes: timeoutMs / 60_000,
        why: 'no edge report since the gate opened',
      },
    });
    deps.log.warn('open visit expired: no edge report since the gate opened', { visitId });
    return true;
  });
}

/** Releases the holds of expired visits not released yet; returns how many are done now. */
async function releaseExpiredHolds(deps: SettleDeps, now: Date): Promise<number> {
  const { rows } = await deps.db.query<{
    id: string;
    payer_id: string;
    hold_status: 'pending' | 'succeeded' | 'declined' | 'failed';
    provider_ref: string | null;
    amount_minor: number;
    currency: string;
    token: string | null;
  }>(
    `select v.id, v.payer_id, p.status as hold_status, p.provider_ref, p.amount_minor, p.currency,
       m.provider_token as token
     from visits v join payments p on p.idempotency_key = 'hold:' || v.id
     left join payment_methods m on m.id = v.payment_method_id
     where v.status = 'expired' and v.closed_at > $1 and p.status <> 'declined'
       and not exists (select 1 from payments r
                       where r.idempotency_key = 'release:' || v.id and r.status in ('succeeded', 'declined'))`,
    [new Date(now.getTime() - RELEASE_RETRY_DAYS * 86_400_000)],
  );
  let done = 0;
  for (const v of rows) {
    let ref = v.provider_ref;
    if (v.hold_status !== 'succeeded') {
      // The gate's hold was never answered: asked again under its key, the provider says what it
      // did (or does it now), and a hold it placed is then released like any other.
      if (!v.token) continue;
      const held = await placeHoldNow(deps, {
        visitId: v.id,
        shopperId: v.payer_id,
        token: v.token,
        amountMinor: Number(v.amount_minor),
        currency: v.currency,
      });
      if (held.outcome === 'failed') continue;
      if (held.outcome === 'declined') {
        done += 1;
        continue;
      }
      ref = held.ref;
    }
    const released = await recordedCall(
      deps.db,
      deps.provider,
      {
        key: `release:${v.id}`,
        kind: 'release',
        visitId: v.id,
        shopperId: v.payer_id,
        amountMinor: 0,
        currency: v.currency,
      },
      (key) => deps.provider.release({ idempotencyKey: key, holdRef: ref! }),
    );
    if (released.outcome === 'failed') {
      deps.log.warn('releasing the hold of an expired visit failed; the next sweep retries', {
        visitId: v.id,
        code: released.code,
      });
      continue;
    }
    done += 1;
    deps.log.info('hold of an expired visit released', { visitId: v.id, outcome: released.outcome });
  }
  return done;
}
