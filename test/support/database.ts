import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createLogger } from '../../platform/log.ts';
import { resolveServices } from '../../platform/services.ts';

export interface TestDatabase {
  url: string;
  close(): Promise<void>;
}

/**
 * A database of its own for one test file, on the real server of DATABASE_URL (embedded PostgreSQL
 * when unset), dropped afterwards, so test files running side by side never see each other's rows.
 */
export async function freshDatabase(label: string): Promise<TestDatabase> {
  const services = await resolveServices({ needDatabase: true, log: createLogger('test') });
  const server = new URL(services.databaseUrl!);
  const name = `walkout_t_${label.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: withDatabase(server, 'postgres') });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  return {
    url: withDatabase(server, name),
    close: async () => {
      const c = new pg.Client({ connectionString: withDatabase(server, 'postgres') });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
      await services.close();
    },
  };
}

/**
 * A copy of `source` (CREATE DATABASE … TEMPLATE): several tests start from the same rows, each
 * changing its own. Nothing may be connected to `source` meanwhile.
 */
export async function copyDatabase(source: TestDatabase, label: string): Promise<TestDatabase> {
  const from = new URL(source.url).pathname.slice(1);
  const copy = await freshDatabase(label);
  const server = new URL(copy.url);
  const name = server.pathname.slice(1);
  const admin = new pg.Client({ connectionString: withDatabase(server, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`drop database ${name}`);
    await admin.query(`create database ${name} template ${from}`);
  } finally {
    await admin.end();
  }
  return copy;
}

function withDatabase(server: URL, db: string): string {
  const u = new URL(server.toString());
  u.pathname = `/${db}`;
  return u.toString();
}
