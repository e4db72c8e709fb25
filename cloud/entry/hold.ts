import type { Logger } from '../../platform/log.ts';
import { notifyShopper } from '../db/notices.ts';
import type { Db } from '../db/pool.ts';
import type { PaymentProvider, ProviderOutcome } from '../payments/provider.ts';
import { type DecisionRow, type GateRecord, type HoldAnswer, recordGate } from './admission.ts';

/**
 * A visit's pre-authorisation hold is placed just after its gate opens, not before: a card
 * network's authorisation takes hundreds of milliseconds (a provider that never answers takes
 * PAYMENT_TIMEOUT_MS), which a shopper would spend at the turnstile, and a code that passed every
 * check of the admission (a shopper known, a payment method on file, nothing owed) opens the gate
 * whatever the bank says. A declined hold does not take back the entry: the shopper is told at
 * once, and at the close the whole total is charged to their payment method of that moment, as
 * for an entry the edge admitted offline (settlement/settle.ts).
 */

export interface HoldOrder {
  visitId: string;
  shopperId: string;
  /** The provider token of the payment method the visit was admitted with. */
  token: string;
  amountMinor: number;
  currency: string;
}

export const HOLD_DECLINED_MESSAGE =
  'Your card was declined. Your visit will be charged when you leave: choose another payment method in the app.';

/**
 * Asks the provider for the hold under `hold:<visit>` and records its answer through `record`,
 * with what else the scan leaves to write (the opening's latency, or a decision row a restart
 * restores). The key makes it safe to ask again, after a crash or from
 * settlement: the provider answers with what it did the first time. A failed call (the provider
 * did not answer) leaves the hold to be asked again at the close or the next start.
 */
export async function placeHold(
  deps: { provider: PaymentProvider; db: Db; log: Logger },
  order: HoldOrder,
  extra: Omit<GateRecord, 'hold'>,
  record: (r: GateRecord) => Promise<void>,
): Promise<ProviderOutcome> {
  let outcome: ProviderOutcome;
  try {
    outcome = await deps.provider.authorise({
      idempotencyKey: `hold:${order.visitId}`,
      token: order.token,
      amountMinor: order.amountMinor,
      currency: order.currency,
      description: `Walkout visit ${order.visitId}`,
    });
  } catch (err) {
    // The decision happened whatever the provider did; its row is not lost with the call, and a
    // failure to write it does not hide the provider's error.
    if (extra.decision || extra.latency)
      await record({ ...extra, hold: null }).catch((e: unknown) =>
        deps.log.error('gate decision row not written', { visitId: order.visitId, err: e }),
      );
    throw err;
  }
  await record({ ...extra, hold: answerOf(order.visitId, outcome) });
  if (outcome.outcome === 'declined') {
    deps.log.info('hold declined after the gate opened; the visit will be charged at the close', {
      visitId: order.visitId,
      code: outcome.code,
    });
    await notifyShopper(deps.db, {
      shopperId: order.shopperId,
      event: 'hold',
      id: order.visitId,
      data: { visitId: order.visitId, status: 'declined', message: HOLD_DECLINED_MESSAGE },
    });
  } else if (outcome.outcome === 'failed') {
    deps.log.warn('hold not answered; asked again at the close or the next start', {
      visitId: order.visitId,
      code: outcome.code,
    });
  }
  return outcome;
}

/** One hold asked for and recorded on its own: settlement and recovery, not the gate's hot path. */
export function placeHoldNow(
  deps: { provider: PaymentProvider; db: Db; log: Logger },
  order: HoldOrder,
  decision: DecisionRow | null = null,
): Promise<ProviderOutcome> {
  return placeHold(deps, order, { decision }, (r) => recordGate(deps.db, [r]));
}

function answerOf(visitId: string, o: ProviderOutcome): HoldAnswer {
  return {
    visitId,
    status: o.outcome,
    ref: o.outcome === 'succeeded' ? o.ref : null,
    failure: o.outcome === 'succeeded' ? null : `${o.code}: ${o.message}`,
  };
}

/**
 * A gate asking again about a code is often a gate whose answer died with the process, and then
 * the hold was never asked for either: it is asked now (under its key, so once) rather than left
 * for the close or the next start. Nothing is asked when the hold has its answer.
 */
export async function askUnansweredHold(
  deps: { provider: PaymentProvider; db: Db; log: Logger },
  visitId: string,
): Promise<ProviderOutcome | null> {
  const { rows } = await deps.db.query<{
    payer_id: string;
    token: string | null;
    amount_minor: number;
    currency: string;
  }>(
    `select v.payer_id, m.provider_token as token, p.amount_minor, p.currency
     from visits v join payments p on p.idempotency_key = 'hold:' || v.id
     left join payment_methods m on m.id = v.payment_method_id
     where v.id = $1 and v.status = 'open' and p.status in ('pending', 'failed')`,
    [visitId],
  );
  const h = rows[0];
  if (!h?.token) return null;
  return placeHoldNow(deps, {
    visitId,
    shopperId: h.payer_id,
    token: h.token,
    amountMinor: Number(h.amount_minor),
    currency: h.currency,
  });
}
