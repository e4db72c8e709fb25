import { WalkoutError } from '../../proto/index.ts';
import { type Db, inTransaction, type Queryable, type Tx } from '../db/pool.ts';
import { recordedCall, reserve } from '../payments/ledger.ts';
import type { PaymentProvider } from '../payments/provider.ts';

/**
 * Each attempt to pay a balance has its own idempotency key, `balance:<id>:<n>` with n the
 * attempts declined before it: a declined attempt stays declined (the provider replays its
 * answer), so paying again with a new card must be a new attempt, while an attempt left
 * unanswered (a timeout, a crash) is asked again under its own key and amount.
 */
async function nextAttempt(
  q: Queryable,
  balanceId: string,
): Promise<{ key: string; unresolved: { amountMinor: number } | null }> {
  const { rows } = await q.query<{ status: string; amount_minor: number }>(
    `select status, amount_minor from payments where idempotency_key like 'balance:' || $1 || ':%'
     order by created_at desc`,
    [balanceId],
  );
  const declined = rows.filter((r) => r.status === 'declined').length;
  const last = rows[0];
  const unresolved =
    last && (last.status === 'pending' || last.status === 'failed')
      ? { amountMinor: last.amount_minor }
      : null;
  return { key: `balance:${balanceId}:${declined}`, unresolved };
}

/**
 * Pays what a shopper owes from declined captures, one balance at a time, with the payment method
 * they have now; paying twice charges once.
 */
export async function payBalance(
  deps: { db: Db; provider: PaymentProvider },
  shopperId: string,
): Promise<{ paidMinor: number; dueMinor: number }> {
  const method = await deps.db.query<{ provider_token: string }>(
    'select provider_token from current_payment_methods where shopper_id = $1',
    [shopperId],
  );
  const token = method.rows[0]?.provider_token;
  if (!token) throw new WalkoutError('PAYMENT_METHOD_REJECTED', 'add a payment method to pay the balance');
  const due = await deps.db.query<{ id: string }>(
    'select id from balances_due where shopper_id = $1 and paid_at is null',
    [shopperId],
  );
  let paid = 0;
  let left = 0;
  for (const { id } of due.rows) {
    // The attempt is claimed (its pending row written) under the balance's lock and the call made
    // after, so no connection is held across the provider's answer and a dispute credited meanwhile
    // sees the attempt and waits for it.
    const attempt = await inTransaction(deps.db, async (tx) => {
      const b = await tx.query<{ visit_id: string; owed: number; currency: string; paid_at: Date | null }>(
        'select visit_id, amount_minor - credited_minor as owed, currency, paid_at from balances_due where id = $1 for update',
        [id],
      );
      const balance = b.rows[0]!;
      if (balance.paid_at) return null;
      const next = await nextAttempt(tx, id);
      const intent = {
        key: next.key,
        kind: 'charge' as const,
        visitId: balance.visit_id,
        shopperId,
        amountMinor: next.unresolved?.amountMinor ?? balance.owed,
        currency: balance.currency,
      };
      await reserve(tx, deps.provider, intent);
      return intent;
    });
    if (!attempt) continue;
    const result = await recordedCall(deps.db, deps.provider, attempt, (key) =>
      deps.provider.charge({
        idempotencyKey: key,
        token,
        amountMinor: attempt.amountMinor,
        currency: attempt.currency,
        description: `Walkout balance for visit ${attempt.visitId}`,
      }),
    );
    if (result.outcome === 'succeeded') {
      await deps.db.query('update balances_due set paid_at = now() where id = $1 and paid_at is null', [id]);
      paid += attempt.amountMinor;
    } else left += attempt.amountMinor;
  }
  return { paidMinor: paid, dueMinor: left };
}

/**
 * Takes up to `amountMinor` off what is owed for a visit, inside the caller's transaction (a
 * dispute's decision, so the credit is given once). Returns what was credited. Refused while an
 * attempt to pay the balance is unanswered: that payment may have gone through at the provider,
 * and it must be resolved (the shopper paying again does) before the amount it was for changes.
 */
export async function creditBalance(tx: Tx, visitId: string, amountMinor: number): Promise<number> {
  const b = await tx.query<{ id: string; owed: number; paid_at: Date | null }>(
    'select id, amount_minor - credited_minor as owed, paid_at from balances_due where visit_id = $1 for update',
    [visitId],
  );
  const balance = b.rows[0];
  if (!balance || balance.paid_at || amountMinor <= 0) return 0;
  if ((await nextAttempt(tx, balance.id)).unresolved)
    throw new WalkoutError(
      'PAYMENT_UNRESOLVED',
      'a payment of this balance is still unanswered; decide again later',
    );
  const credit = Math.min(amountMinor, balance.owed);
  await tx.query(
    `update balances_due set credited_minor = credited_minor + $2,
       paid_at = case when credited_minor + $2 >= amount_minor then now() end where id = $1`,
    [balance.id, credit],
  );
  return credit;
}
