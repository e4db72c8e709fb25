import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { referenceCatalog, setUpStore, type TestStore } from '../../test/support/store.ts';
import { createOperator } from '../operators/service.ts';
import { createStore } from '../stores/devices.ts';

let cloud: TestCloud;
let store: TestStore;
let admin: string;
let outsider: string;

async function operator(email: string, role: 'admin' | 'operator', stores: string[]): Promise<string> {
  await createOperator(
    cloud.ctx.db,
    { email, password: 'operator password 1', name: email, role, stores },
    1024,
  );
  const r = await cloud.call('POST', '/v1/ops/sessions', {
    body: { email, password: 'operator password 1' },
  });
  expect(r.status).toBe(201);
  return r.body.accessToken;
}

/** A request with exactly these headers and bytes, as a hostile client would send it. */
async function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Uint8Array | string,
) {
  const res = await fetch(`${cloud.httpUrl}${path}`, { method, headers, body });
  const text = await res.text();
  return {
    status: res.status,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  };
}

// The server's log, read back: pino writes to its own file descriptor, not through process.stderr.
let logLines: string[] = [];
const logDestination = new Writable({
  write(chunk, _enc, done) {
    logLines.push(String(chunk));
    done();
  },
});

/** What the server wrote to its log while `run` ran. */
async function logged(run: () => Promise<unknown>): Promise<string> {
  logLines = [];
  await run();
  return logLines.join('');
}

beforeAll(async () => {
  cloud = await startTestCloud(
    'hostile',
    { SETTLE_SWEEP_MS: '60000' },
    { log: createLogger('cloud', { destination: logDestination }) },
  );
  store = await setUpStore(cloud);
  await createStore(cloud.ctx.db, { id: 'elsewhere', name: 'elsewhere' });
  admin = await operator('admin@example.test', 'admin', ['reference']);
  outsider = await operator('outsider@example.test', 'admin', ['elsewhere']);
});
afterAll(async () => {
  store?.disconnect();
  await cloud?.stop();
});

describe('hostile input', () => {
  it('a NUL in sign-up’s name is refused naming the field, before the database sees it', async () => {
    const r = await cloud.call('POST', '/v1/shoppers', {
      body: { email: 'nul@example.test', password: 'correct horse battery', name: 'Eve\u0000' },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('BAD_REQUEST');
    expect(r.body.error.message).toContain('name');
    expect(r.body.error.message).not.toMatch(/0x00|UTF8|invalid byte sequence/i);
  });

  it('an email the document calls invalid (over 64 characters before the @) is refused', async () => {
    const email = `${'a'.repeat(65)}@example.test`;
    const r = await cloud.call('POST', '/v1/shoppers', {
      body: { email, password: 'correct horse battery', name: 'Long' },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.issues[0].field).toBe('email');
    const ok = await cloud.call('POST', '/v1/shoppers', {
      body: { email: `${'a'.repeat(64)}@example.test`, password: 'correct horse battery', name: 'Long' },
    });
    expect(ok.status).toBe(201);
  });

  it('a NUL anywhere in a body, even where no schema looks, is refused with its path', async () => {
    const layout = { schemaVersion: 1, storeId: 'reference', name: 'x\u0000', extra: { deep: ['\u0000'] } };
    const r = await cloud.call('PUT', '/v1/ops/stores/reference/layout', { token: admin, body: layout });
    expect(r.status).toBe(400);
    expect(r.body.error.issues[0].field).toMatch(/^(name|extra\.deep\.0)$/);
  });

  it('device Basic credentials with a NUL or a non-canonical encoding are 401, not a database error', async () => {
    const [id, secret] = store.gate.split(':') as [string, string];
    const scan = (authorization: string) =>
      send(
        'POST',
        '/v1/gates/g1/scans',
        { 'content-type': 'application/json', authorization },
        JSON.stringify({ qr: 'x' }),
      );
    const nul = await scan(`Basic ${Buffer.from(`${id}\u0000:${secret}`).toString('base64')}`);
    expect(nul.status).toBe(401);
    expect(nul.body.error.code).toBe('UNAUTHENTICATED');
    // The same id and secret, but base64 whose last character carries a stray bit.
    const good = Buffer.from(`${id}:${secret}`).toString('base64');
    expect(good.endsWith('=')).toBe(true);
    const stem = good.replace(/=+$/, '');
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const stray = `${stem.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(stem.at(-1)!) ^ 1]}${good.slice(stem.length)}`;
    expect(Buffer.from(stray, 'base64').toString()).toBe(`${id}:${secret}`);
    expect((await scan(`Basic ${stray}`)).status).toBe(401);
    expect((await scan(`Basic ${good}`)).status).toBe(200);
  });

  it('a capacity beyond PostgreSQL’s int is 400 naming the field', async () => {
    const r = await cloud.call('PATCH', '/v1/ops/stores/reference', {
      token: admin,
      body: { capacity: 2 ** 31 },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('capacity');
    const ok = await cloud.call('PATCH', '/v1/ops/stores/reference', {
      token: admin,
      body: { capacity: 2 ** 31 - 1 },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.capacity).toBe(2 ** 31 - 1);
  });

  it('a review threshold too small for its column is 400 naming the field; 0 and a millionth are kept', async () => {
    const r = await cloud.call('PATCH', '/v1/ops/stores/reference', {
      token: admin,
      body: { reviewBelowConfidence: 1e-50 },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('reviewBelowConfidence');
    for (const v of [0, 0.000001, 0.9]) {
      const ok = await cloud.call('PATCH', '/v1/ops/stores/reference', {
        token: admin,
        body: { reviewBelowConfidence: v },
      });
      expect(ok.status).toBe(200);
      expect(ok.body.reviewBelowConfidence).toBeCloseTo(v, 6);
    }
  });

  it('a route whose document requires a body refuses a request without one', async () => {
    const shopper = await newShopper(cloud, null);
    const r = await send('POST', '/v1/me/entry-codes', { authorization: `Bearer ${shopper.token}` });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('body is required');
    const doc = await cloud.call('GET', '/openapi.json');
    expect(doc.body.paths['/v1/me/entry-codes'].post.requestBody.required).toBe(true);
  });

  it('invalid UTF-8 is refused, not stored as replacement characters', async () => {
    const shopper = await newShopper(cloud, null);
    const bytes = Buffer.concat([Buffer.from('{"name":"Ev'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const r = await send(
      'PATCH',
      '/v1/me',
      { authorization: `Bearer ${shopper.token}`, 'content-type': 'application/json' },
      bytes,
    );
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('UTF-8');
    expect((await cloud.call('GET', '/v1/me', { token: shopper.token })).body.name).toBe('Test');
  });

  it('a body in another charset is refused, not read as UTF-8', async () => {
    const shopper = await newShopper(cloud, null);
    const r = await send(
      'PATCH',
      '/v1/me',
      { authorization: `Bearer ${shopper.token}`, 'content-type': 'application/json; charset=latin1' },
      Buffer.from('{"name":"Zoë"}', 'latin1'),
    );
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const utf8 = await send(
      'PATCH',
      '/v1/me',
      { authorization: `Bearer ${shopper.token}`, 'content-type': 'application/json; charset=UTF-8' },
      JSON.stringify({ name: 'Zoë' }),
    );
    expect(utf8.status).toBe(200);
    expect(utf8.body.name).toBe('Zoë');
  });

  it('a database failure answers a generic 500 with the request id and no database text', async () => {
    // A real failure in the database: the stores table made to refuse every update.
    await cloud.ctx.db.query(
      `alter table stores add constraint hostile_test_refuses check (name <> 'refused-by-db')`,
    );
    try {
      const log = await logged(async () => {
        const r = await cloud.call('PATCH', '/v1/ops/stores/reference', {
          token: admin,
          body: { name: 'refused-by-db' },
        });
        expect(r.status).toBe(500);
        expect(r.body.error.code).toBe('INTERNAL');
        expect(r.body.error.requestId).toMatch(/.+/);
        expect(JSON.stringify(r.body)).not.toMatch(/hostile_test_refuses|constraint|stores/);
      });
      expect(log).toContain('hostile_test_refuses');
    } finally {
      await cloud.ctx.db.query('alter table stores drop constraint hostile_test_refuses');
    }
  });
});

describe('identity', () => {
  it('?access_token= is refused outside the event stream, and accepted there', async () => {
    const shopper = await newShopper(cloud, null);
    const r = await cloud.call('GET', `/v1/me?access_token=${shopper.token}`);
    expect(r.status).toBe(401);
    expect(r.body.error.message).toContain('event stream');
    const withHeader = await cloud.call('GET', `/v1/me?access_token=${shopper.token}`, {
      token: shopper.token,
    });
    expect(withHeader.status).toBe(401);
    const ac = new AbortController();
    const events = await fetch(`${cloud.httpUrl}/v1/me/events?access_token=${shopper.token}`, {
      signal: ac.signal,
    });
    expect(events.status).toBe(200);
    ac.abort();
    const doc = (await cloud.call('GET', '/openapi.json')).body;
    const query = (op: { parameters: Array<{ in: string; name: string }> }) =>
      op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
    expect(query(doc.paths['/v1/me/events'].get)).toEqual(['access_token']);
    expect(query(doc.paths['/v1/me'].get)).toEqual([]);
  });

  it('a refused request’s log line carries no token from its URL', async () => {
    const shopper = await newShopper(cloud, null);
    const log = await logged(async () => {
      expect((await cloud.call('GET', `/v1/me?access_token=${shopper.token}`)).status).toBe(401);
      expect((await cloud.call('GET', `/v1/nowhere?access_token=${shopper.token}`)).status).toBe(404);
    });
    expect(log).toContain('request refused');
    expect(log).toContain('access_token=[redacted]');
    expect(log).not.toContain(shopper.token);
  });

  it('another store’s receipt and dispute answer exactly as unknown ones do', async () => {
    const { shopper, visitId } = await store.enter();
    store.take(visitId, referenceCatalog.items[0]!.sku, 1);
    store.close(visitId);
    await store.flushed();
    await cloud.settlement.idle();
    const receipts = await cloud.call('GET', '/v1/me/receipts', { token: shopper.token });
    const receiptId = receipts.body[0].id as string;
    const dispute = await cloud.call('POST', `/v1/me/receipts/${receiptId}/disputes`, {
      token: shopper.token,
      body: { lines: [{ lineNo: 1, quantity: 1 }], comment: 'not mine' },
    });
    expect(dispute.status).toBe(201);
    const unknown = '00000000-0000-4000-8000-000000000000';
    const strip = (b: { error: { requestId?: string; message: string } }) => ({
      ...b.error,
      requestId: undefined,
    });
    const review = (id: string) =>
      cloud.call('POST', `/v1/ops/receipts/${id}/review`, { token: outsider, body: {} });
    const decide = (id: string) =>
      cloud.call('POST', `/v1/ops/disputes/${id}/decision`, {
        token: outsider,
        body: { accept: false, reason: 'no reason' },
      });
    for (const [theirs, none] of [
      [await review(receiptId), await review(unknown)],
      [await decide(dispute.body.id), await decide(unknown)],
    ] as const) {
      expect(none.status).toBe(404);
      expect(theirs.status).toBe(none.status);
      expect(strip(theirs.body)).toEqual(strip(none.body));
    }
    // The store's own operator still can.
    const own = await cloud.call('POST', `/v1/ops/disputes/${dispute.body.id}/decision`, {
      token: admin,
      body: { accept: false, reason: 'checked the clip' },
    });
    expect(own.status).toBe(200);
  });

  it('/metrics is not on the public port; it is on its own', async () => {
    const pub = await cloud.call('GET', '/metrics');
    expect(pub.status).toBe(404);
    expect(await cloud.metrics()).toContain('walkout_http_request_seconds');
    expect(new URL(cloud.metricsUrl).port).not.toBe(new URL(cloud.httpUrl).port);
  });
});
