import type { Logger } from '../../platform/log.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import { recordedCall } from '../payments/ledger.ts';
import type { PaymentProvider } from '../payments/provider.ts';

/**
 * Visits left `entering` by a crash between claiming a code and recording its hold. Their gate
 * never opened (nobody answered it), so any hold the provider placed is released. The
 * authorisation is asked again under its original idempotency key: the provider answers with
 * what it did the first time, or does it now, and either way there is exactly one hold to release.
 */
export async function recoverEntering(
  db: Db,
  provider: PaymentProvider,
  log: Logger,
  olderThan: Date,
): Promise<number> {
  const { rows } = await db.query<{
    id: string;
    payer_id: string;
    token: string;
    amount_minor: number;
    currency: string;
  }>(
    `select v.id, v.payer_id, m.provider_token as token, p.amount_minor, p.currency
     from visits v join payment_methods m on m.id = v.payment_method_id
     join payments p on p.idempotency_key = 'hold:' || v.id
     where v.status = 'entering' and v.opened_at < $1`,
    [olderThan],
  );
  for (const v of rows) {
    const held = await provider.authorise({
      idempotencyKey: `hold:${v.id}`,
      token: v.token,
      amountMinor: v.amount_minor,
      currency: v.currency,
      description: `Walkout visit ${v.id}`,
    });
    if (held.outcome === 'failed') {
      log.warn('entering visit left for the next recovery: provider unavailable', { visitId: v.id });
      continue;
    }
    if (held.outcome === 'succeeded') {
      const intent = {
        key: `release:${v.id}`,
        kind: 'release' as const,
        visitId: v.id,
        shopperId: v.payer_id,
        amountMinor: 0,
        currency: v.currency,
      };
      const release = await recordedCall(db, provider, intent, (key) =>
        provider.release({ idempotencyKey: key, holdRef: held.ref }),
      );
      if (release.outcome !== 'succeeded') continue;
    }
    await inTransaction(db, async (tx) => {
      await tx.query(
        `update payments set status = $2, provider_ref = $3, updated_at = now() where idempotency_key = $1`,
        [`hold:${v.id}`, held.outcome, held.outcome === 'succeeded' ? held.ref : null],
      );
      await tx.query(`update visits set status = 'cancelled' where id = $1 and status = 'entering'`, [v.id]);
    });
    log.info('entering visit cancelled after a crash', {
      visitId: v.id,
      holdReleased: held.outcome === 'succeeded',
    });
  }
  return rows.length;
}
