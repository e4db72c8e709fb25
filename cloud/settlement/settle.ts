import type { Logger } from '../../platform/log.ts';
import { audit } from '../db/audit.ts';
import { notifyShopper } from '../db/notices.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import { placeHoldNow } from '../entry/hold.ts';
import { type PaymentKind, recordedCall } from '../payments/ledger.ts';
import type { PaymentProvider, ProviderOutcome } from '../payments/provider.ts';
import { priceVisit, type VisitReceipt } from './price-visit.ts';
import { planMoney } from './pricing.ts';

/** Points between steps where a crash leaves the visit half-settled; tests stop the process there. */
export type SettleStep = 'priced' | 'requested' | 'answered' | 'recorded' | 'finalized';

export interface SettleDeps {
  db: Db;
  provider: PaymentProvider;
  log: Logger;
  currency: string;
  now: () => Date;
  /** Called after each step; throwing from it is how a test crashes the settlement there. */
  checkpoint?: (step: SettleStep, visitId: string) => void;
}

export type SettleResult =
  | { state: 'issued'; receiptId: string; dueMinor: number }
  | { state: 'review'; receiptId: string }
  | { state: 'retry'; why: string }
  | { state: 'not-closed' };

/**
 * Settles a closed visit: price once, move the money, issue the receipt. Every step can be
 * repeated after a crash at any point: the receipt is priced once per visit, each payment has an
 * idempotency key derived from the visit (so the provider moves it once), and the receipt is
 * issued by one conditional update. Running this twice, or on two processes, gives one of each.
 */
export async function settle(deps: SettleDeps, visitId: string): Promise<SettleResult> {
  const mark = (step: SettleStep) => deps.checkpoint?.(step, visitId);
  const receipt = await priceVisit(deps.db, visitId, deps.currency);
  if (!receipt) return { state: 'not-closed' };
  if (receipt.status === 'review') return { state: 'review', receiptId: receipt.receiptId };
  if (receipt.status === 'issued') {
    const due = await deps.db.query<{ amount_due_minor: number }>(
      'select amount_due_minor from receipts where id = $1',
      [receipt.receiptId],
    );
    return { state: 'issued', receiptId: receipt.receiptId, dueMinor: due.rows[0]!.amount_due_minor };
  }
  mark('priced');
  const due = await takePayment(deps, receipt, mark);
  if (due === 'no hold') return { state: 'retry', why: `visit ${visitId} entered by the gate has no hold` };
  if (due === null) return { state: 'retry', why: 'payment provider unavailable' };
  await issue(deps, receipt, due);
  mark('finalized');
  return { state: 'issued', receiptId: receipt.receiptId, dueMinor: due };
}

/**
 * Moves a receipt's money; returns what is left unpaid, or null when the provider could not answer
 * ('no hold' only if a gate entry lacks the hold its admission writes). A hold is captured with
 * the card it was placed on, and asked for first if the gate's request went unanswered. A visit
 * without one (an entry the edge admitted offline, or a hold the bank declined after the gate
 * opened) is charged in full to the payer's card of now, which may be one added since (or none).
 */
async function takePayment(
  deps: SettleDeps,
  receipt: VisitReceipt,
  mark: (s: SettleStep) => void,
): Promise<number | null | 'no hold'> {
  const { rows } = await deps.db.query<{
    entry: 'gate' | 'offline';
    hold_status: 'pending' | 'succeeded' | 'declined' | 'failed' | null;
    provider_ref: string | null;
    amount_minor: number | null;
    hold_currency: string | null;
    hold_token: string | null;
    current_token: string | null;
  }>(
    `select v.entry, p.status as hold_status, p.provider_ref, p.amount_minor, p.currency as hold_currency,
       m.provider_token as hold_token,
       (select provider_token from current_payment_methods where shopper_id = v.payer_id) as current_token
     from visits v left join payment_methods m on m.id = v.payment_method_id
     left join payments p on p.idempotency_key = 'hold:' || v.id
     where v.id = $1`,
    [receipt.visitId],
  );
  const h = rows[0];
  if (!h) return 'no hold';
  if (h.entry === 'offline' || h.hold_status === 'declined')
    return chargeInFull(deps, receipt, h.current_token, mark);
  if (h.hold_status === null || h.amount_minor === null || !h.hold_token) return 'no hold';
  let ref = h.provider_ref;
  if (h.hold_status !== 'succeeded') {
    // The gate's hold was not answered (the provider did not, or the process stopped first).
    const order = {
      visitId: receipt.visitId,
      shopperId: receipt.shopperId,
      token: h.hold_token,
      amountMinor: h.amount_minor,
      currency: h.hold_currency ?? deps.currency,
    };
    const held = await placeHoldNow(deps, order);
    if (held.outcome === 'failed') return null;
    if (held.outcome === 'declined') return chargeInFull(deps, receipt, h.current_token, mark);
    ref = held.ref;
  }
  return moveMoney(
    deps,
    receipt,
    { provider_ref: ref!, amount_minor: h.amount_minor, token: h.hold_token },
    mark,
  );
}

/** One recorded provider call for a receipt, under the key `kind:visit`. */
function paymentCall(deps: SettleDeps, r: VisitReceipt, mark: (s: SettleStep) => void) {
  return async (
    kind: Exclude<PaymentKind, 'refund'>,
    amountMinor: number,
    fn: (key: string) => Promise<ProviderOutcome>,
  ) => {
    const intent = {
      key: `${kind}:${r.visitId}`,
      kind,
      visitId: r.visitId,
      shopperId: r.shopperId,
      amountMinor,
      currency: deps.currency,
    };
    const result = await recordedCall(deps.db, deps.provider, intent, fn, mark);
    if (result.outcome === 'failed')
      deps.log.warn('payment call failed; will retry', { visitId: r.visitId, kind, code: result.code });
    return result;
  };
}

/** A receipt without a hold: all of it charged, or owed when there is no card or it is declined. */
async function chargeInFull(
  deps: SettleDeps,
  r: VisitReceipt,
  token: string | null,
  mark: (s: SettleStep) => void,
): Promise<number | null> {
  if (r.totalMinor === 0) return 0;
  if (!token) return r.totalMinor;
  const charged = await paymentCall(deps, r, mark)('charge', r.totalMinor, (key) =>
    deps.provider.charge({
      idempotencyKey: key,
      token,
      amountMinor: r.totalMinor,
      currency: deps.currency,
      description: `Walkout receipt ${r.receiptId}`,
    }),
  );
  if (charged.outcome === 'failed') return null;
  return charged.outcome === 'declined' ? r.totalMinor : 0;
}

/** The amount left unpaid, or null when the provider could not answer (retry later). */
async function moveMoney(
  deps: SettleDeps,
  r: VisitReceipt,
  hold: { provider_ref: string; amount_minor: number; token: string },
  mark: (s: SettleStep) => void,
): Promise<number | null> {
  const call = paymentCall(deps, r, mark);
  const release = () =>
    call('release', 0, (key) => deps.provider.release({ idempotencyKey: key, holdRef: hold.provider_ref }));
  const plan = planMoney(r.totalMinor, hold.amount_minor);
  if (plan.kind === 'release') {
    return (await release()).outcome === 'failed' ? null : 0;
  }
  const captured = await call('capture', plan.captureMinor, (key) =>
    deps.provider.capture({
      idempotencyKey: key,
      holdRef: hold.provider_ref,
      amountMinor: plan.captureMinor,
    }),
  );
  if (captured.outcome === 'failed') return null;
  if (captured.outcome === 'declined') {
    // Nothing was taken: the hold is let go and the whole total is owed.
    return (await release()).outcome === 'failed' ? null : r.totalMinor;
  }
  if (plan.kind === 'capture') return 0;
  const charged = await call('charge', plan.chargeMinor, (key) =>
    deps.provider.charge({
      idempotencyKey: key,
      token: hold.token,
      amountMinor: plan.chargeMinor,
      currency: deps.currency,
      description: `Walkout receipt ${r.receiptId} beyond its hold`,
    }),
  );
  if (charged.outcome === 'failed') return null;
  return charged.outcome === 'declined' ? plan.chargeMinor : 0;
}

async function issue(deps: SettleDeps, r: VisitReceipt, dueMinor: number): Promise<void> {
  await inTransaction(deps.db, async (tx) => {
    const settled = await tx.query(
      `update visits set status = 'settled' where id = $1 and status = 'closed'`,
      [r.visitId],
    );
    if ((settled.rowCount ?? 0) === 0) return;
    // Points are earned on what was paid; an unpaid receipt earns none.
    const points = dueMinor > 0 ? 0 : r.pointsEarned;
    await tx.query(
      `update receipts set status = 'issued', issued_at = $2, amount_due_minor = $3, points_earned = $4 where id = $1`,
      [r.receiptId, deps.now(), dueMinor, points],
    );
    if (dueMinor > 0) {
      await tx.query(
        `insert into balances_due (shopper_id, visit_id, amount_minor, currency) values ($1, $2, $3, $4)
         on conflict (visit_id) do nothing`,
        [r.shopperId, r.visitId, dueMinor, deps.currency],
      );
    }
    await tx.query('update loyalty_accounts set points = points + $2 where shopper_id = $1', [
      r.shopperId,
      points,
    ]);
    await audit(tx, {
      actor: 'settlement',
      storeId: r.storeId,
      action: 'receipt.issued',
      subject: r.receiptId,
      details: { visitId: r.visitId, totalMinor: r.totalMinor, dueMinor },
    });
    await notifyShopper(tx, {
      shopperId: r.shopperId,
      event: 'receipt',
      id: r.receiptId,
      data: { visitId: r.visitId, totalMinor: r.totalMinor, amountDueMinor: dueMinor },
    });
  });
  deps.log.info('receipt issued', {
    visitId: r.visitId,
    receiptId: r.receiptId,
    totalMinor: r.totalMinor,
    dueMinor,
  });
}
