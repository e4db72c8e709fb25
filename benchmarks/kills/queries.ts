/** The rows invariants.ts judges, read once at the end of a run. */
import type { Db } from '../../cloud/db/pool.ts';
import type { Rows } from './invariants.ts';

export async function readRows(db: Db): Promise<Rows> {
  const q = async <T>(sql: string) => (await db.query(sql)).rows as T[];
  // The provider's books know visits only through the idempotency keys the cloud asked under.
  // All started at once; `satisfies` makes sure every table of Rows is read, so the cast below holds.
  const queries = {
    visits: q<Rows['visits'][number]>('select id, status, entry from visits'),
    holds: q<Rows['holds'][number]>(
      `select substr(o.idempotency_key, 6) as "visitId", p.amount_minor::int as "amountMinor",
             p.captured_minor::int as "capturedMinor", p.refunded_minor::int as "refundedMinor", p.released
           from sandbox_operations o join sandbox_payments p on p.ref = o.outcome->>'ref'
           where o.operation = 'authorise' and o.idempotency_key like 'hold:%'`,
    ),
    charges: q<Rows['charges'][number]>(
      `select substr(o.idempotency_key, 8) as "visitId", p.captured_minor::int as "capturedMinor",
             p.refunded_minor::int as "refundedMinor"
           from sandbox_operations o join sandbox_payments p on p.ref = o.outcome->>'ref'
           where o.operation = 'charge' and o.idempotency_key like 'charge:%'`,
    ),
    receipts: q<Rows['receipts'][number]>(
      `select visit_id as "visitId", shopper_id as "shopperId", status, total_minor::int as "totalMinor",
             amount_due_minor::int as "amountDueMinor", points_earned::int as "pointsEarned" from receipts`,
    ),
    receiptLines: q<Rows['receiptLines'][number]>(
      `select r.visit_id as "visitId", l.sku, l.quantity from receipt_lines l join receipts r on r.id = l.receipt_id`,
    ),
    issues: q<Rows['issues'][number]>(
      `select details->>'visitId' as "visitId", count(*)::int as count from audit_log
           where action = 'receipt.issued' group by 1`,
    ),
    loyalty: q<Rows['loyalty'][number]>(
      'select shopper_id as "shopperId", points::int as points from loyalty_accounts',
    ),
    openDecisions: q<Rows['openDecisions'][number]>(
      `select visit_id as "visitId", count(*)::int as count from gate_decisions
           where decision = 'open' and visit_id is not null group by 1`,
    ),
    cartEvents: q<Rows['cartEvents'][number]>(
      'select device_id as device, seq::int as seq, count(*)::int as count from cart_events group by 1, 2',
    ),
    rejections: q<Rows['rejections'][number]>(
      'select device_id as device, seq::int as seq, code from edge_rejections',
    ),
  } satisfies { [K in keyof Rows]: Promise<Rows[K]> };
  const values = await Promise.all(Object.values(queries));
  return Object.fromEntries(Object.keys(queries).map((k, i) => [k, values[i]])) as unknown as Rows;
}

/** What is still moving: the quiet period ends when nothing is. */
export async function pendingWork(db: Db): Promise<{ open: number; closed: number; pendingHolds: number }> {
  const { rows } = await db.query<{ open: number; closed: number; pending_holds: number }>(
    `select count(*) filter (where status = 'open')::int as open,
       count(*) filter (where status = 'closed')::int as closed,
       (select count(*)::int from payments where kind = 'hold' and status = 'pending') as pending_holds
     from visits`,
  );
  const r = rows[0]!;
  return { open: r.open, closed: r.closed, pendingHolds: r.pending_holds };
}

/** A sample for the chart: visits admitted and receipts issued so far. */
export async function progress(db: Db): Promise<{ visits: number; receipts: number }> {
  const { rows } = await db.query<{ visits: number; receipts: number }>(
    `select (select count(*)::int from visits) as visits,
       (select count(*)::int from receipts where status = 'issued') as receipts`,
  );
  return rows[0]!;
}
