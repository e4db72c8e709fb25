import type { Db, Tx } from './pool.ts';

export interface AuditEntry {
  /** `operator:<id>`, `settlement`, … */
  actor: string;
  storeId: string | null;
  action: string;
  subject?: string;
  details?: Record<string, unknown>;
}

/** One line of the audit log, inside the caller's transaction when it passes one. */
export async function audit(db: Db | Tx, entry: AuditEntry): Promise<void> {
  await db.query(
    'insert into audit_log (actor, store_id, action, subject, details) values ($1, $2, $3, $4, $5)',
    [entry.actor, entry.storeId, entry.action, entry.subject ?? null, entry.details ?? {}],
  );
}
