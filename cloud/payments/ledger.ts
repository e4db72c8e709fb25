import type { Db, Queryable } from '../db/pool.ts';
import type { PaymentProvider, ProviderOutcome } from './provider.ts';

export type PaymentKind = 'capture' | 'charge' | 'release' | 'refund';
export type Recorded =
  | { outcome: 'succeeded' | 'declined'; ref: string | null; amountMinor: number }
  | { outcome: 'failed'; code: string };

export interface PaymentIntent {
  key: string;
  kind: PaymentKind;
  visitId: string;
  shopperId: string;
  amountMinor: number;
  currency: string;
}

/** The payments row of a call about to be made, if it has none yet. */
export async function reserve(q: Queryable, provider: PaymentProvider, intent: PaymentIntent): Promise<void> {
  await q.query(
    `insert into payments (idempotency_key, visit_id, shopper_id, kind, amount_minor, currency, provider, status)
     values ($1, $2, $3, $4, $5, $6, $7, 'pending') on conflict (idempotency_key) do nothing`,
    [
      intent.key,
      intent.visitId,
      intent.shopperId,
      intent.kind,
      intent.amountMinor,
      intent.currency,
      provider.name,
    ],
  );
}

/**
 * One provider call recorded around itself: the payments row is written before the call (so a
 * crash leaves a trace) and an answer once recorded is never asked for again. A row left
 * unanswered is asked again under the same idempotency key, which the provider answers with what
 * it did the first time, so the money moves once however often this runs.
 */
export async function recordedCall(
  db: Db,
  provider: PaymentProvider,
  intent: PaymentIntent,
  call: (key: string) => Promise<ProviderOutcome>,
  mark: (step: 'requested' | 'answered' | 'recorded') => void = () => {},
): Promise<Recorded> {
  await reserve(db, provider, intent);
  const seen = await db.query<{ status: string; provider_ref: string | null; amount_minor: number }>(
    'select status, provider_ref, amount_minor from payments where idempotency_key = $1',
    [intent.key],
  );
  const row = seen.rows[0]!;
  if (row.status === 'succeeded' || row.status === 'declined') {
    return { outcome: row.status, ref: row.provider_ref, amountMinor: row.amount_minor };
  }
  mark('requested');
  const outcome = await call(intent.key);
  mark('answered');
  const ok = outcome.outcome === 'succeeded';
  await db.query(
    'update payments set status = $2, provider_ref = $3, failure = $4, updated_at = now() where idempotency_key = $1',
    [intent.key, outcome.outcome, ok ? outcome.ref : null, ok ? null : `${outcome.code}: ${outcome.message}`],
  );
  mark('recorded');
  if (outcome.outcome === 'failed') return { outcome: 'failed', code: outcome.code };
  return { outcome: outcome.outcome, ref: ok ? outcome.ref : null, amountMinor: intent.amountMinor };
}
