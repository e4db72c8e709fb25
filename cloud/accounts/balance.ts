import { WalkoutError } from '../../proto/index.ts';
import type { Db } from '../db/pool.ts';
import { recordedCall } from '../payments/ledger.ts';
import type { PaymentProvider } from '../payments/provider.ts';

/**
 * Pays what a shopper owes from declined captures, one balance at a time, with the payment method
 * they have now. Each balance's charge has its own key, so paying twice charges once.
 */
export async function payBalance(
  deps: { db: Db; provider: PaymentProvider },
  shopperId: string,
): Promise<{ paidMinor: number; dueMinor: number }> {
  const method = await deps.db.query<{ provider_token: string }>(
    `select provider_token from payment_methods where shopper_id = $1 and removed_at is null
     order by created_at desc limit 1`,
    [shopperId],
  );
  const token = method.rows[0]?.provider_token;
  if (!token) throw new WalkoutError('PAYMENT_METHOD_REJECTED', 'add a payment method to pay the balance');
  const due = await deps.db.query<{ id: string; visit_id: string; amount_minor: number; currency: string }>(
    'select id, visit_id, amount_minor, currency from balances_due where shopper_id = $1 and paid_at is null',
    [shopperId],
  );
  let paid = 0;
  let left = 0;
  for (const b of due.rows) {
    const result = await recordedCall(
      deps.db,
      deps.provider,
      {
        key: `balance:${b.id}`,
        kind: 'charge',
        visitId: b.visit_id,
        shopperId,
        amountMinor: b.amount_minor,
        currency: b.currency,
      },
      (key) =>
        deps.provider.charge({
          idempotencyKey: key,
          token,
          amountMinor: b.amount_minor,
          currency: b.currency,
          description: `Walkout balance for visit ${b.visit_id}`,
        }),
    );
    if (result.outcome === 'succeeded') {
      await deps.db.query('update balances_due set paid_at = now() where id = $1 and paid_at is null', [
        b.id,
      ]);
      paid += b.amount_minor;
    } else left += b.amount_minor;
  }
  return { paidMinor: paid, dueMinor: left };
}
