import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Logger } from '../../platform/log.ts';

const DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
// Any constant works; it only has to be the same in every cloud process sharing a database.
const LOCK_KEY = 0x57414c4b;

export interface Migration {
  version: number;
  name: string;
  up: string;
  down: string;
}

/** NNNN_name.up.sql with its NNNN_name.down.sql, in version order. */
export function readMigrations(dir = DIR): Migration[] {
  const files = readdirSync(dir);
  return files
    .filter((f) => f.endsWith('.up.sql'))
    .map((f) => {
      const m = /^(\d{4})_([a-z0-9_]+)\.up\.sql$/.exec(f);
      if (!m) throw new Error(`migration file ${f} is not named NNNN_name.up.sql`);
      const down = f.replace(/\.up\.sql$/, '.down.sql');
      if (!files.includes(down)) throw new Error(`migration ${f} has no ${down}`);
      return {
        version: Number(m[1]),
        name: m[2]!,
        up: readFileSync(join(dir, f), 'utf8'),
        down: readFileSync(join(dir, down), 'utf8'),
      };
    })
    .sort((a, b) => a.version - b.version);
}

async function withLock<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    // Two cloud processes starting together must not both apply the same migration.
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`create table if not exists schema_migrations (
      version int primary key, name text not null, applied_at timestamptz not null default now())`);
    return await fn(client);
  } finally {
    await client.query('select pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
    client.release();
  }
}

async function applied(c: pg.PoolClient): Promise<Set<number>> {
  const { rows } = await c.query<{ version: number }>('select version from schema_migrations');
  return new Set(rows.map((r) => r.version));
}

/** Applies every migration not yet applied, each in its own transaction; returns the versions applied. */
export async function migrateUp(
  pool: pg.Pool,
  log: Logger,
  migrations = readMigrations(),
): Promise<number[]> {
  return withLock(pool, async (c) => {
    const done = await applied(c);
    const ran: number[] = [];
    for (const m of migrations.filter((x) => !done.has(x.version))) {
      await c.query('begin');
      try {
        await c.query(m.up);
        await c.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
        await c.query('commit');
      } catch (err) {
        await c.query('rollback');
        throw new Error(`migration ${m.version}_${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      log.info('migration applied', { version: m.version, migration: m.name });
      ran.push(m.version);
    }
    return ran;
  });
}

/** Reverts the newest applied migrations, `steps` of them. */
export async function migrateDown(
  pool: pg.Pool,
  log: Logger,
  steps = 1,
  migrations = readMigrations(),
): Promise<number[]> {
  return withLock(pool, async (c) => {
    const done = await applied(c);
    const targets = migrations
      .filter((m) => done.has(m.version))
      .reverse()
      .slice(0, steps);
    for (const m of targets) {
      await c.query('begin');
      try {
        await c.query(m.down);
        await c.query('delete from schema_migrations where version = $1', [m.version]);
        await c.query('commit');
      } catch (err) {
        await c.query('rollback');
        throw new Error(`reverting migration ${m.version}_${m.name} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      log.info('migration reverted', { version: m.version, migration: m.name });
    }
    return targets.map((m) => m.version);
  });
}
