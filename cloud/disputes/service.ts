import { WalkoutError } from '../../proto/index.ts';
import { creditBalance } from '../accounts/balance.ts';
import { audit } from '../db/audit.ts';
import { notifyShopper } from '../db/notices.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import { recordedCall } from '../payments/ledger.ts';
import type { PaymentProvider } from '../payments/provider.ts';

export interface DisputeLine {
  lineNo: number;
  quantity: number;
}

export interface DisputeView {
  id: string;
  receiptId: string;
  storeId: string;
  status: 'open' | 'accepted' | 'rejected';
  comment: string;
  refundMinor: number;
  /** Taken off a balance still owed for the receipt, for units never paid. */
  creditMinor: number;
  decisionReason: string | null;
  createdAt: string;
  decidedAt: string | null;
  lines: Array<DisputeLine & { sku: string; name: string; evidence: string[] }>;
}

/** A shopper contests lines of an issued receipt: units they say they did not take. */
export async function openDispute(
  db: Db,
  shopperId: string,
  receiptId: string,
  lines: DisputeLine[],
  comment: string,
): Promise<string> {
  return inTransaction(db, async (tx) => {
    const r = await tx.query<{ store_id: string; status: string }>(
      'select store_id, status from receipts where id = $1 and shopper_id = $2 for update',
      [receiptId, shopperId],
    );
    const receipt = r.rows[0];
    if (receipt?.status !== 'issued') throw new WalkoutError('NOT_FOUND', 'receipt not found');
    const have = await tx.query<{ line_no: number; quantity: number }>(
      'select line_no, quantity from receipt_lines where receipt_id = $1',
      [receiptId],
    );
    const qty = new Map(have.rows.map((l) => [l.line_no, l.quantity]));
    for (const l of lines) {
      const max = qty.get(l.lineNo);
      if (max === undefined) throw new WalkoutError('BAD_REQUEST', `receipt has no line ${l.lineNo}`);
      if (l.quantity > max) throw new WalkoutError('BAD_REQUEST', `line ${l.lineNo} has only ${max} units`);
    }
    const open = await tx.query<{ id: string }>(
      `insert into disputes (receipt_id, shopper_id, store_id, status, comment) values ($1, $2, $3, 'open', $4)
       on conflict do nothing returning id`,
      [receiptId, shopperId, receipt.store_id, comment],
    );
    const id = open.rows[0]?.id;
    if (!id) throw new WalkoutError('BAD_REQUEST', 'this receipt already has an open dispute');
    for (const l of lines) {
      await tx.query('insert into dispute_lines (dispute_id, line_no, quantity) values ($1, $2, $3)', [
        id,
        l.lineNo,
        l.quantity,
      ]);
    }
    return id;
  });
}

export async function listDisputes(
  db: Db,
  where: { shopperId?: string; storeId?: string; id?: string },
): Promise<DisputeView[]> {
  const { rows } = await db.query(
    `select d.*, coalesce(json_agg(json_build_object('lineNo', dl.line_no, 'quantity', dl.quantity, 'sku', rl.sku,
                                   'name', rl.name, 'evidence', rl.evidence) order by dl.line_no)
                          filter (where dl.line_no is not null), '[]') as lines
     from disputes d
     left join dispute_lines dl on dl.dispute_id = d.id
     left join receipt_lines rl on rl.receipt_id = d.receipt_id and rl.line_no = dl.line_no
     where ($1::uuid is null or d.shopper_id = $1) and ($2::text is null or d.store_id = $2)
       and ($3::uuid is null or d.id = $3)
     group by d.id order by d.created_at desc limit 200`,
    [where.shopperId ?? null, where.storeId ?? null, where.id ?? null],
  );
  return rows.map((d) => ({
    id: d.id,
    receiptId: d.receipt_id,
    storeId: d.store_id,
    status: d.status,
    comment: d.comment,
    refundMinor: d.refund_minor,
    creditMinor: d.credited_minor,
    decisionReason: d.decision_reason,
    createdAt: d.created_at.toISOString(),
    decidedAt: d.decided_at ? d.decided_at.toISOString() : null,
    lines: d.lines,
  }));
}

/** What the contested units cost the shopper: their share of each line's amount after discount. */
export function refundFor(
  lines: ReadonlyArray<{
    quantity: number;
    lineQuantity: number;
    amountMinor: number;
    discountMinor: number;
  }>,
): number {
  return lines.reduce(
    (sum, l) => sum + Math.round(((l.amountMinor - l.discountMinor) * l.quantity) / l.lineQuantity),
    0,
  );
}

export interface DecideDeps {
  db: Db;
  provider: PaymentProvider;
  currency: string;
  now: () => Date;
}

/**
 * An operator's decision. Accepting refunds through the provider under keys derived from the
 * dispute, from the capture first and any separate charge after, so deciding twice (or after a
 * crash mid-way) refunds once; the dispute is closed only when the refund has gone through.
 */
export async function decideDispute(
  deps: DecideDeps,
  operatorId: string,
  disputeId: string,
  decision: { accept: boolean; reason: string },
): Promise<DisputeView> {
  const [d] = await listDisputes(deps.db, { id: disputeId });
  if (!d) throw new WalkoutError('NOT_FOUND', 'dispute not found');
  if (d.status !== 'open') return d;
  const money = decision.accept ? await refund_(deps, d) : { refunded: 0, unrefunded: 0, visitId: null };
  const refund = money.refunded;
  await inTransaction(deps.db, async (tx) => {
    const done = await tx.query(
      `update disputes set status = $2, refund_minor = $3, decided_by = $4, decision_reason = $5, decided_at = $6
       where id = $1 and status = 'open' returning shopper_id`,
      [disputeId, decision.accept ? 'accepted' : 'rejected', refund, operatorId, decision.reason, deps.now()],
    );
    const shopperId = done.rows[0]?.shopper_id as string | undefined;
    if (!shopperId) return;
    // What was never paid cannot be refunded: it comes off the balance instead, in this
    // transaction, so only the decision that closes the dispute gives it.
    const credit = money.visitId ? await creditBalance(tx, money.visitId, money.unrefunded) : 0;
    if (credit > 0)
      await tx.query('update disputes set credited_minor = $2 where id = $1', [disputeId, credit]);
    await audit(tx, {
      actor: `operator:${operatorId}`,
      storeId: d.storeId,
      action: decision.accept ? 'dispute.accepted' : 'dispute.rejected',
      subject: disputeId,
      details: { refund, credit, reason: decision.reason },
    });
    await notifyShopper(tx, {
      shopperId,
      event: 'dispute',
      id: disputeId,
      data: {
        status: decision.accept ? 'accepted' : 'rejected',
        refundMinor: refund,
        creditMinor: credit,
        reason: decision.reason,
      },
    });
  });
  return (await listDisputes(deps.db, { id: disputeId }))[0]!;
}

/** Refunds the contested units from what was paid; `unrefunded` is the part that was never paid. */
async function refund_(
  deps: DecideDeps,
  d: DisputeView,
): Promise<{ refunded: number; unrefunded: number; visitId: string | null }> {
  const lines = await deps.db.query<{
    line_no: number;
    quantity: number;
    amount_minor: number;
    discount_minor: number;
  }>('select line_no, quantity, amount_minor, discount_minor from receipt_lines where receipt_id = $1', [
    d.receiptId,
  ]);
  const byNo = new Map(lines.rows.map((l) => [l.line_no, l]));
  const wanted = refundFor(
    d.lines.map((l) => {
      const line = byNo.get(l.lineNo)!;
      return {
        quantity: l.quantity,
        lineQuantity: line.quantity,
        amountMinor: line.amount_minor,
        discountMinor: line.discount_minor,
      };
    }),
  );
  const paid = await deps.db.query<{
    kind: 'capture' | 'charge';
    provider_ref: string;
    amount_minor: number;
    visit_id: string;
    shopper_id: string;
  }>(
    `select p.kind, p.provider_ref, p.amount_minor, p.visit_id, p.shopper_id from payments p
     join receipts r on r.visit_id = p.visit_id
     where r.id = $1 and p.kind in ('capture', 'charge') and p.status = 'succeeded' order by p.kind`,
    [d.receiptId],
  );
  let left = wanted;
  for (const p of paid.rows) {
    if (left <= 0) break;
    const amount = Math.min(left, p.amount_minor);
    const result = await recordedCall(
      deps.db,
      deps.provider,
      {
        key: `refund:${d.id}:${p.kind}`,
        kind: 'refund',
        visitId: p.visit_id,
        shopperId: p.shopper_id,
        amountMinor: amount,
        currency: deps.currency,
      },
      (key) => deps.provider.refund({ idempotencyKey: key, paymentRef: p.provider_ref, amountMinor: amount }),
    );
    if (result.outcome === 'failed')
      throw new WalkoutError('INTERNAL', `refund failed at ${deps.provider.name}; decide again to retry`);
    if (result.outcome === 'declined')
      throw new WalkoutError('INTERNAL', `${deps.provider.name} declined the refund`);
    left -= amount;
  }
  const visit = await deps.db.query<{ visit_id: string }>('select visit_id from receipts where id = $1', [
    d.receiptId,
  ]);
  return { refunded: wanted - left, unrefunded: left, visitId: visit.rows[0]?.visit_id ?? null };
}
