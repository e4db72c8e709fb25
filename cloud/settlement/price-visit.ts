import { type Db, inTransaction, type Tx } from '../db/pool.ts';
import {
  type CartEvent,
  inDoubt,
  type Multibuy,
  netCart,
  type PricedReceipt,
  type PriceEntry,
  priceCart,
} from './pricing.ts';

export interface VisitReceipt {
  receiptId: string;
  visitId: string;
  storeId: string;
  shopperId: string;
  status: 'review' | 'priced' | 'issued';
  totalMinor: number;
  pointsEarned: number;
}

interface ReceiptRow {
  id: string;
  visit_id: string;
  store_id: string;
  shopper_id: string;
  status: VisitReceipt['status'];
  total_minor: number;
  points_earned: number;
}

const toReceipt = (r: ReceiptRow): VisitReceipt => ({
  receiptId: r.id,
  visitId: r.visit_id,
  storeId: r.store_id,
  shopperId: r.shopper_id,
  status: r.status,
  totalMinor: r.total_minor,
  pointsEarned: r.points_earned,
});

/**
 * The receipt of a closed visit, priced once: the first call prices the cart at the prices in
 * force when the visit closed and stores it; every later call returns what was stored. Null for
 * a visit that is not closed.
 */
export async function priceVisit(
  db: Db,
  visitId: string,
  currency: string,
  opts: { reviewed?: boolean } = {},
): Promise<VisitReceipt | null> {
  return inTransaction(db, async (tx) => {
    // The exclusive lock waits out any edge batch still writing to this visit (they share-lock it).
    const v = await tx.query<{
      status: string;
      store_id: string;
      payer_id: string;
      closed_at: Date;
      entry_flag: string | null;
    }>('select status, store_id, payer_id, closed_at, entry_flag from visits where id = $1 for update', [
      visitId,
    ]);
    const visit = v.rows[0];
    if (!visit || (visit.status !== 'closed' && visit.status !== 'settled')) return null;
    const existing = await tx.query<ReceiptRow>('select * from receipts where visit_id = $1', [visitId]);
    if (existing.rows[0]) return toReceipt(existing.rows[0]);

    const { priced, events } = await priceAt(tx, visitId, visit.store_id, visit.closed_at);
    const store = await tx.query<{ review_below_confidence: number | null }>(
      'select review_below_confidence from stores where id = $1',
      [visit.store_id],
    );
    const threshold = store.rows[0]?.review_below_confidence ?? null;
    const doubtful = inDoubt(events, threshold);
    // Once an operator has looked, unpriced SKUs are dropped (never charged) and doubt is settled.
    // An entry admitted offline on a reused or expired code may not be the payer's own visit.
    const status =
      !opts.reviewed && (doubtful || priced.unpriced.length > 0 || visit.entry_flag !== null)
        ? 'review'
        : 'priced';
    const row = await tx.query<ReceiptRow>(
      `insert into receipts (visit_id, store_id, shopper_id, status, currency, subtotal_minor, discount_minor,
                             total_minor, points_earned, priced_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, now()) returning *`,
      [
        visitId,
        visit.store_id,
        visit.payer_id,
        status,
        currency,
        priced.subtotalMinor,
        priced.discountMinor,
        priced.totalMinor,
        priced.pointsEarned,
      ],
    );
    const receiptId = row.rows[0]!.id;
    for (const l of priced.lines) {
      await tx.query(
        `insert into receipt_lines (receipt_id, line_no, sku, name, quantity, grams, unit_price_minor, amount_minor,
                                    discount_minor, promotion, confidence, evidence)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          receiptId,
          l.lineNo,
          l.sku,
          l.name,
          l.quantity,
          l.grams,
          l.unitPriceMinor,
          l.amountMinor,
          l.discountMinor,
          l.promotion,
          l.confidence,
          l.evidence,
        ],
      );
    }
    return toReceipt(row.rows[0]!);
  });
}

async function priceAt(
  tx: Tx,
  visitId: string,
  storeId: string,
  at: Date,
): Promise<{ priced: PricedReceipt; events: CartEvent[] }> {
  const events = await tx.query<{
    sku: string;
    quantity: number;
    grams: number;
    confidence: number;
    evidence: string[];
  }>('select sku, quantity, grams, confidence, evidence from cart_events where visit_id = $1', [visitId]);
  const prices = await tx.query<{
    sku: string;
    name: string;
    sold_by: 'unit' | 'weight';
    price_minor: number;
  }>(
    `select distinct on (p.sku) p.sku, pr.name, pr.sold_by, p.price_minor
     from prices p join products pr on pr.store_id = p.store_id and pr.sku = p.sku
     where p.store_id = $1 and p.valid_from <= $2 and (p.valid_to is null or p.valid_to > $2)
     order by p.sku, p.valid_from desc`,
    [storeId, at],
  );
  const promos = await tx.query<{ sku: string; name: string; buy_qty: number; bundle_minor: number }>(
    `select sku, name, buy_qty, bundle_minor from promotions
     where store_id = $1 and valid_from <= $2 and (valid_to is null or valid_to > $2)`,
    [storeId, at],
  );
  const rate = await tx.query<{ points_per_major_unit: number }>(
    'select points_per_major_unit from stores where id = $1',
    [storeId],
  );
  const book = new Map<string, PriceEntry>(
    prices.rows.map((p) => [p.sku, { name: p.name, soldBy: p.sold_by, priceMinor: p.price_minor }]),
  );
  const multibuys: Multibuy[] = promos.rows.map((p) => ({
    sku: p.sku,
    name: p.name,
    buyQty: p.buy_qty,
    bundleMinor: p.bundle_minor,
  }));
  return {
    priced: priceCart(netCart(events.rows), book, multibuys, rate.rows[0]?.points_per_major_unit ?? 0),
    events: events.rows,
  };
}
