import type { Logger } from '../../platform/log.ts';
import type { Queryable } from './pool.ts';

export type { Queryable };

/** The time-series tables: hypertables under TimescaleDB, plain tables (same queries) without it. */
export const TIMESERIES_TABLES = [
  'gate_decisions',
  'cart_events',
  'gate_passages',
  'shelf_states',
  'edge_health',
] as const;

export interface Timeseries {
  timescale: boolean;
  /** SQL for the start of the bucket of width $interval holding column, under either engine. */
  bucket(intervalParam: string, column: string): string;
}

// TimescaleDB buckets timestamptz from Monday 2000-01-03; date_bin is given the same origin so
// both paths put a row in the same bucket.
const ORIGIN = "timestamptz '2000-01-03 00:00:00+00'";

export async function detectTimeseries(db: Queryable, log: Logger): Promise<Timeseries> {
  const { rows } = await db.query<{ available: boolean }>(
    "select exists (select 1 from pg_available_extensions where name = 'timescaledb') as available",
  );
  let timescale = false;
  if (rows[0]?.available) {
    try {
      await db.query('create extension if not exists timescaledb');
      for (const table of TIMESERIES_TABLES) {
        await db.query(
          `select create_hypertable('${table}', by_range('time', interval '1 day'), if_not_exists => true, migrate_data => true)`,
        );
        await db.query(`alter table ${table} set (timescaledb.compress)`);
        await db.query(`select add_compression_policy('${table}', interval '7 days', if_not_exists => true)`);
      }
      timescale = true;
    } catch (err) {
      log.warn('timescaledb is installed but could not be enabled; using plain tables', { err });
    }
  }
  log.info(
    timescale
      ? 'timescaledb enabled: hypertables with compression'
      : 'timescaledb not available: plain tables',
    {
      tables: TIMESERIES_TABLES,
    },
  );
  return {
    timescale,
    bucket: (interval, column) =>
      timescale ? `time_bucket(${interval}, ${column})` : `date_bin(${interval}, ${column}, ${ORIGIN})`,
  };
}
