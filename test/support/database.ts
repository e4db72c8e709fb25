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
  const name = databaseName(label);
  await asAdmin(server, `create database ${name}`);
  return {
    url: withDatabase(server, name),
    close: async () => {
      await asAdmin(server, `drop database if exists ${name} with (force)`);
      await services.close();
    },
  };
}

/**
 * A copy of `source` (CREATE DATABASE … TEMPLATE): several tests start from the same rows, each
 * changing its own. Nothing may be connected to `source` meanwhile. The copy lives on the source's
 * server, whose life is the source's: close copies first. (Made through freshDatabase, a copy got
 * a server of its own when DATABASE_URL was unset, an embedded one without the source on it, and
 * `npm test` failed there.)
 */
export async function copyDatabase(source: TestDatabase, label: string): Promise<TestDatabase> {
  const server = new URL(source.url);
  const from = server.pathname.slice(1);
  const name = databaseName(label);
  await asAdmin(server, `create database ${name} template ${from}`);
  return {
    url: withDatabase(server, name),
    close: () => asAdmin(server, `drop database if exists ${name} with (force)`),
  };
}

function databaseName(label: string): string {
  return `walkout_t_${label.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
}

async function asAdmin(server: URL, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: withDatabase(server, 'postgres') });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

function withDatabase(server: URL, db: string): string {
  const u = new URL(server.toString());
  u.pathname = `/${db}`;
  return u.toString();
}
