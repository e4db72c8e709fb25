import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { freshDatabase, type TestDatabase } from '../../test/support/database.ts';
import { migrateDown, migrateUp, readMigrations } from './migrate.ts';
import { createPool, type Db } from './pool.ts';

let database: TestDatabase;
let db: Db;
const log = createLogger('migrate-test');

beforeAll(async () => {
  database = await freshDatabase('migrate');
  db = createPool(database.url);
});
afterAll(async () => {
  await db?.end();
  await database?.close();
});

const tables = async () =>
  (
    await db.query<{ t: string }>(
      "select table_name as t from information_schema.tables where table_schema = 'public' order by 1",
    )
  ).rows.map((r) => r.t);

describe('migrations', () => {
  it('apply once, in order, even when two processes start together, and revert cleanly', async () => {
    const all = readMigrations().map((m) => m.version);
    const [a, b] = await Promise.all([migrateUp(db, log), migrateUp(db, log)]);
    expect([...a!, ...b!].sort((x, y) => x - y)).toEqual(all);
    expect(await tables()).toEqual(
      expect.arrayContaining(['visits', 'payments', 'entry_redemptions', 'sandbox_payments']),
    );
    expect(await migrateUp(db, log)).toEqual([]);

    expect(await migrateDown(db, log, all.length)).toEqual([...all].reverse());
    expect(await tables()).toEqual(['schema_migrations']);
    expect(await migrateUp(db, log)).toEqual(all);
  });

  it('refuse a migration without its down file or with a name out of pattern', () => {
    const dir = mkdtempSync(join(tmpdir(), 'walkout-migrations-'));
    writeFileSync(join(dir, '0001_first.up.sql'), 'select 1');
    expect(() => readMigrations(dir)).toThrow(/has no 0001_first.down.sql/);
    writeFileSync(join(dir, '0001_first.down.sql'), 'select 1');
    writeFileSync(join(dir, '2_second.up.sql'), 'select 1');
    expect(() => readMigrations(dir)).toThrow(/not named NNNN_name.up.sql/);
  });
});
