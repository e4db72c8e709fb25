import pg from 'pg';
import type { Logger } from '../../platform/log.ts';

// bigint columns hold minor units and sequence numbers, which fit a double exactly below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`bigint ${v} exceeds 2^53`);
  return n;
});

export type Db = pg.Pool;
export type Tx = pg.PoolClient;

/**
 * What a statement needs of a database: a pool, one of its clients inside a transaction, or PGlite
 * (the TimescaleDB test), so helpers can run either inside the caller's transaction or alone.
 */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * A client whose server goes away emits 'error' (on the pool when idle, on itself when checked
 * out), which would crash the process with no listener. The query in flight fails on its own and
 * the pool replaces the client, so a warning is enough.
 */
export function createPool(url: string, opts: { max?: number; log?: Logger } = {}): Db {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10 });
  const lost = (err: Error) => opts.log?.warn('database connection lost', { err: err.message });
  pool.on('error', lost);
  pool.on('connect', (client) => client.on('error', lost));
  return pool;
}

/** Runs fn in one transaction, rolled back if it throws. */
export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const tx = await db.connect();
  try {
    await tx.query('begin');
    const result = await fn(tx);
    await tx.query('commit');
    return result;
  } catch (err) {
    await tx.query('rollback').catch(() => {});
    throw err;
  } finally {
    tx.release();
  }
}
