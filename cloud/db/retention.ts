import type { Logger } from '../../platform/log.ts';
import type { Db } from './pool.ts';

export interface RetentionResult {
  cartEvidenceCleared: number;
  receiptEvidenceCleared: number;
  passagesDeleted: number;
}

/**
 * Personal data older than the retention period is removed: evidence references (clips of a
 * person) from cart events and receipt lines, and gate passages (when a person came and went).
 * What the receipt says and what was paid are business records and stay. Evidence of a receipt
 * under an open dispute is kept until the dispute is decided.
 */
export async function enforceRetention(
  db: Db,
  now: Date,
  days: number,
  log: Logger,
): Promise<RetentionResult> {
  const cutoff = new Date(now.getTime() - days * 86_400_000);
  const cart = await db.query(
    `update cart_events c set evidence = '{}'
     where c.time < $1 and c.evidence <> '{}'
       and not exists (select 1 from receipts r join disputes d on d.receipt_id = r.id
                       where r.visit_id = c.visit_id and d.status = 'open')`,
    [cutoff],
  );
  const lines = await db.query(
    `update receipt_lines l set evidence = '{}'
     from receipts r where r.id = l.receipt_id and r.priced_at < $1 and l.evidence <> '{}'
       and not exists (select 1 from disputes d where d.receipt_id = r.id and d.status = 'open')`,
    [cutoff],
  );
  const passages = await db.query('delete from gate_passages where time < $1', [cutoff]);
  const result = {
    cartEvidenceCleared: cart.rowCount ?? 0,
    receiptEvidenceCleared: lines.rowCount ?? 0,
    passagesDeleted: passages.rowCount ?? 0,
  };
  log.info('retention enforced', { days, cutoff: cutoff.toISOString(), ...result });
  return result;
}
