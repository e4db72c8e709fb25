import { WalkoutError } from '../../proto/index.ts';
import { audit } from '../db/audit.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import { priceVisit } from './price-visit.ts';

export interface Correction {
  sku: string;
  /** What the operator saw the shopper take, replacing the cart's count for this SKU. */
  quantity: number;
}

/**
 * An operator resolves a receipt held for review: corrections become cart events of their own
 * (kept beside the edge's, with the operator as evidence), the unissued receipt is priced again,
 * and it is released for settlement however confident its lines were.
 */
export async function resolveReview(
  db: Db,
  receiptId: string,
  operatorId: string,
  corrections: Correction[],
  currency: string,
): Promise<string> {
  const visitId = await inTransaction(db, async (tx) => {
    const r = await tx.query<{ visit_id: string; store_id: string; status: string }>(
      'select visit_id, store_id, status from receipts where id = $1 for update',
      [receiptId],
    );
    const receipt = r.rows[0];
    if (!receipt) throw new WalkoutError('NOT_FOUND', 'receipt not found');
    if (receipt.status !== 'review')
      throw new WalkoutError('BAD_REQUEST', `receipt is ${receipt.status}, not in review`);
    for (const c of corrections) {
      const have = await tx.query<{ n: number }>(
        'select coalesce(sum(quantity), 0)::int as n from cart_events where visit_id = $1 and sku = $2',
        [receipt.visit_id, c.sku],
      );
      const delta = c.quantity - have.rows[0]!.n;
      if (delta === 0) continue;
      await tx.query(
        `insert into cart_events (time, store_id, visit_id, member_no, sku, quantity, confidence, evidence, device_id, seq)
         values (now(), $1, $2, 0, $3, $4, 1, $5, 'review', 0)`,
        [receipt.store_id, receipt.visit_id, c.sku, delta, [`review:${operatorId}`]],
      );
    }
    await tx.query('delete from receipt_lines where receipt_id = $1', [receiptId]);
    await tx.query('delete from receipts where id = $1', [receiptId]);
    await audit(tx, {
      actor: `operator:${operatorId}`,
      storeId: receipt.store_id,
      action: 'receipt.reviewed',
      subject: receipt.visit_id,
      details: { corrections },
    });
    return receipt.visit_id;
  });
  const priced = await priceVisit(db, visitId, currency, { reviewed: true });
  return priced!.receiptId;
}
