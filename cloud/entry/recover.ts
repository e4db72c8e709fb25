import type { Logger } from '../../platform/log.ts';
import type { Db } from '../db/pool.ts';
import type { PaymentProvider } from '../payments/provider.ts';
import { placeHoldNow } from './hold.ts';

/**
 * Holds of open visits still without an answer at start-up: the process stopped between opening
 * the gate and recording the provider's answer, or the provider did not answer. Each is asked
 * again under its original idempotency key, so the provider answers with what it did the first
 * time or does it now: one hold either way. The admission writes the decision's row itself; an
 * admission from before it did (migration 0010) whose row went down with the process gets it back
 * from the code's redemption, without a latency (nobody measured it): the first redemption, as a
 * new code that resumed the visit (gate.ts) adds another.
 */
export async function recoverHolds(
  db: Db,
  provider: PaymentProvider,
  log: Logger,
  olderThan: Date,
): Promise<number> {
  const { rows } = await db.query<{
    id: string;
    store_id: string;
    payer_id: string;
    token: string;
    amount_minor: number;
    currency: string;
    gate_id: string;
    redeemed_at: Date;
    logged: boolean;
  }>(
    `select v.id, v.store_id, v.payer_id, m.provider_token as token, p.amount_minor, p.currency,
       r.gate_id, r.redeemed_at,
       exists (select 1 from gate_decisions d
               where d.store_id = v.store_id and d.time >= r.redeemed_at and d.visit_id = v.id) as logged
     from visits v join payment_methods m on m.id = v.payment_method_id
     join payments p on p.idempotency_key = 'hold:' || v.id
     join lateral (select gate_id, redeemed_at from entry_redemptions r where r.visit_id = v.id
                   order by redeemed_at limit 1) r on true
     where v.status = 'open' and p.status in ('pending', 'failed') and v.opened_at < $1`,
    [olderThan],
  );
  let answered = 0;
  for (const v of rows) {
    const decision = v.logged
      ? null
      : {
          at: v.redeemed_at,
          storeId: v.store_id,
          gateId: v.gate_id,
          decision: 'open' as const,
          reason: null,
          shopperId: v.payer_id,
          visitId: v.id,
          latencyMs: null,
        };
    const order = {
      visitId: v.id,
      shopperId: v.payer_id,
      token: v.token,
      amountMinor: Number(v.amount_minor),
      currency: v.currency,
    };
    const held = await placeHoldNow({ db, provider, log }, order, decision);
    if (held.outcome !== 'failed') answered += 1;
    log.info('hold of an open visit asked again after a restart', {
      visitId: v.id,
      outcome: held.outcome,
      decisionRowRestored: decision !== null,
    });
  }
  return answered;
}
