import type { Db } from '../db/pool.ts';
import type { ReceiptLine } from '../settlement/pricing.ts';

export interface ReceiptView {
  id: string;
  visitId: string;
  storeId: string;
  status: 'review' | 'priced' | 'issued';
  currency: string;
  subtotalMinor: number;
  discountMinor: number;
  totalMinor: number;
  amountDueMinor: number;
  pointsEarned: number;
  pricedAt: string;
  issuedAt: string | null;
  lines: Array<Omit<ReceiptLine, 'confidence' | 'evidence'>>;
}

/** A shopper's receipts, newest first; `id` narrows to one. Only issued receipts are shown. */
export async function shopperReceipts(db: Db, shopperId: string, id?: string): Promise<ReceiptView[]> {
  const { rows } = await db.query(
    `select r.*, coalesce(json_agg(json_build_object(
        'lineNo', l.line_no, 'sku', l.sku, 'name', l.name, 'quantity', l.quantity, 'grams', l.grams,
        'unitPriceMinor', l.unit_price_minor, 'amountMinor', l.amount_minor, 'discountMinor', l.discount_minor,
        'promotion', l.promotion) order by l.line_no) filter (where l.line_no is not null), '[]') as lines,
        coalesce((select b.amount_minor - b.credited_minor from balances_due b
                  where b.visit_id = r.visit_id and b.paid_at is null), 0) as owed
     from receipts r left join receipt_lines l on l.receipt_id = r.id
     where r.shopper_id = $1 and r.status = 'issued' and ($2::uuid is null or r.id = $2)
     group by r.id order by r.priced_at desc limit 100`,
    [shopperId, id ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    visitId: r.visit_id,
    storeId: r.store_id,
    status: r.status,
    currency: r.currency,
    subtotalMinor: r.subtotal_minor,
    discountMinor: r.discount_minor,
    totalMinor: r.total_minor,
    amountDueMinor: r.owed,
    pointsEarned: r.points_earned,
    pricedAt: r.priced_at.toISOString(),
    issuedAt: r.issued_at ? r.issued_at.toISOString() : null,
    lines: r.lines,
  }));
}

export interface LiveVisit {
  visitId: string;
  storeId: string;
  status: string;
  openedAt: string;
  party: number;
  /**
   * The visit's pre-authorisation hold: pending just after the gate opened, succeeded, declined
   * (the total is charged at the close instead) or failed (asked again); null for an entry the
   * edge admitted offline, which has none.
   */
  hold: 'pending' | 'succeeded' | 'declined' | 'failed' | null;
  /** What the store sees in the cart so far, per SKU. */
  cart: Array<{ sku: string; name: string | null; quantity: number }>;
}

/** The shopper's visit in progress (open, or closed but not yet settled), if any. */
export async function liveVisit(db: Db, shopperId: string): Promise<LiveVisit | null> {
  const v = await db.query<{
    id: string;
    store_id: string;
    status: string;
    opened_at: Date;
    companions: number;
    hold: LiveVisit['hold'];
  }>(
    `select v.id, v.store_id, v.status, v.opened_at, v.companions, p.status as hold
     from visits v left join payments p on p.idempotency_key = 'hold:' || v.id
     where v.payer_id = $1 and v.status in ('open', 'closed') order by v.opened_at desc limit 1`,
    [shopperId],
  );
  const visit = v.rows[0];
  if (!visit) return null;
  const cart = await db.query<{ sku: string; name: string | null; quantity: number }>(
    `select c.sku, p.name, sum(c.quantity)::int as quantity
     from cart_events c left join products p on p.store_id = c.store_id and p.sku = c.sku
     where c.visit_id = $1 group by c.sku, p.name having sum(c.quantity) > 0 order by c.sku`,
    [visit.id],
  );
  return {
    visitId: visit.id,
    storeId: visit.store_id,
    status: visit.status,
    openedAt: visit.opened_at.toISOString(),
    party: visit.companions + 1,
    hold: visit.hold,
    cart: cart.rows,
  };
}
