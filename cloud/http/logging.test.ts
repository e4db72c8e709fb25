import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { freshDatabase, type TestDatabase } from '../../test/support/database.ts';
import { type RunningCloud, startCloud } from '../app.ts';
import { loadCloudConfig } from '../config.ts';

/**
 * Fastify logs through the cloud's pino: every line about a request carries its request id (the
 * caller's x-request-id when it gives a valid one), without the handlers passing it by hand.
 */

const lines: Record<string, unknown>[] = [];
const destination = new Writable({
  write(chunk, _enc, done) {
    for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
    done();
  },
});
let db: TestDatabase;
let cloud: RunningCloud;

beforeAll(async () => {
  db = await freshDatabase('http_logging');
  const config = loadCloudConfig({
    PORT: '0',
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    HOST: '127.0.0.1',
    SCRYPT_COST: '1024',
  });
  const log = createLogger('cloud', { destination, level: 'debug' });
  cloud = await startCloud(config, { databaseUrl: db.url, log });
});
afterAll(async () => {
  await allowConnections(true);
  await cloud?.close();
  await db?.close();
});

// The server itself refuses the cloud's connections: a real database failure, not a stand-in.
async function allowConnections(allow: boolean): Promise<void> {
  if (!db) return;
  const name = new URL(db.url).pathname.slice(1);
  const admin = new URL(db.url);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  await c.query(`alter database ${name} allow_connections ${allow}`);
  if (!allow)
    await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
  await c.end();
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('request logging', () => {
  it('logs a refusal and the request under the caller’s request id', async () => {
    const res = await fetch(`${cloud.httpUrl}/v1/me`, { headers: { 'x-request-id': 'gate-7.scan-42' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toBe('gate-7.scan-42');
    await settle();
    const mine = lines.filter((l) => l.reqId === 'gate-7.scan-42');
    expect(mine).toEqual([
      expect.objectContaining({
        level: 'warn',
        name: 'cloud.http',
        msg: 'request refused',
        method: 'GET',
        url: '/v1/me',
        code: 'UNAUTHENTICATED',
      }),
      expect.objectContaining({
        level: 'debug',
        name: 'cloud.http',
        msg: 'request',
        route: '/v1/me',
        status: 401,
      }),
    ]);
  });

  it('gives a request without an id one of its own, in its lines and its answer', async () => {
    const res = await fetch(`${cloud.httpUrl}/healthz`);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await settle();
    expect(lines.filter((l) => l.reqId === id)).toEqual([
      expect.objectContaining({ msg: 'request', route: '/healthz', status: 200 }),
    ]);
  });

  // Last: it leaves the database refusing connections until afterAll.
  it('logs a failure with the request id and the database error’s code, and tells the client neither', async () => {
    await allowConnections(false);
    const res = await fetch(`${cloud.httpUrl}/v1/shoppers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'signup-1' },
      body: JSON.stringify({ email: 'a@example.test', password: 'correct horse battery', name: 'A' }),
    });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('INTERNAL');
    expect(JSON.stringify(body)).not.toMatch(/allow|connections|55000/);
    await settle();
    const failed = lines.find((l) => l.reqId === 'signup-1' && l.msg === 'request failed');
    expect(failed, JSON.stringify(lines.filter((l) => l.reqId === 'signup-1'))).toMatchObject({
      level: 'error',
      name: 'cloud.http',
      url: '/v1/shoppers',
      // PostgreSQL's own code for "database does not allow connections", kept by the serializer.
      err: { code: '55000', message: expect.stringContaining('not currently accepting connections') },
    });
  });
});
