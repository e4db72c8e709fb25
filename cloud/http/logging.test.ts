import { Writable } from 'node:stream';
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
  const config = loadCloudConfig({ PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1', SCRYPT_COST: '1024' });
  const log = createLogger('cloud', { destination, level: 'debug' });
  cloud = await startCloud(config, { databaseUrl: db.url, log });
});
afterAll(async () => {
  await cloud?.close();
  await db?.close();
});

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
});
