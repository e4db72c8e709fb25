import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { connectEdge, type EdgeClient } from '../../test/support/edge-client.ts';
import { gateIdle } from '../entry/gate.ts';
import { createOperator } from '../operators/service.ts';

const layout = JSON.parse(
  readFileSync(new URL('../../proto/stores/reference/layout.json', import.meta.url), 'utf8'),
);
const catalog = JSON.parse(
  readFileSync(new URL('../../proto/stores/reference/catalog.json', import.meta.url), 'utf8'),
);
const item = catalog.items.find((i: { soldBy?: string }) => i.soldBy !== 'weight');

let cloud: TestCloud;
let admin: string;
let edge: EdgeClient;
let seq = 0;
let gate: string;

async function signIn(email: string): Promise<string> {
  const r = await cloud.call('POST', '/v1/ops/sessions', {
    body: { email, password: 'operator password 1' },
  });
  expect(r.status).toBe(201);
  return r.body.accessToken;
}

beforeAll(async () => {
  cloud = await startTestCloud('ops', { SETTLE_SWEEP_MS: '60000' });
  await createOperator(
    cloud.ctx.db,
    {
      email: 'admin@example.test',
      password: 'operator password 1',
      name: 'Admin',
      role: 'admin',
      stores: [],
    },
    1024,
  );
  admin = await signIn('admin@example.test');
});
afterAll(async () => {
  edge?.close();
  await cloud?.stop();
});

async function visitWithItem(quantity: number, confidence: number, card?: string) {
  const shopper = await newShopper(cloud, card);
  const code = await cloud.call('POST', '/v1/me/entry-codes', { token: shopper.token, body: {} });
  const open = await cloud.call('POST', '/v1/gates/gate-in/scans', {
    basic: gate,
    body: { qr: code.body.code },
  });
  const visitId = open.body.visitId as string;
  const t = cloud.clock.ms;
  edge.send({
    seq: ++seq,
    timeMs: t,
    cart: { visitId, memberNo: 0, sku: item.sku, quantity, confidence, evidence: ['clip-a'], grams: 0 },
  });
  edge.send({ seq: ++seq, timeMs: t, visit: { visitId, kind: 'VISIT_CLOSED' } });
  await edge.waitForAck(seq);
  await cloud.settlement.idle();
  return { shopper, visitId };
}

describe('operators', () => {
  it('set up a store: create it, upload its layout and catalogue, and get device credentials', async () => {
    const created = await cloud.call('POST', '/v1/ops/stores', {
      token: admin,
      body: { id: 'reference', name: 'Reference' },
    });
    expect(created.status).toBe(201);
    const up = await cloud.call('PUT', '/v1/ops/stores/reference/layout', { token: admin, body: layout });
    expect(up.body).toEqual({ version: 1 });
    const broken = structuredClone(layout);
    broken.plates[1].id = broken.plates[0].id;
    const bad = await cloud.call('PUT', '/v1/ops/stores/reference/layout', { token: admin, body: broken });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('LAYOUT_INCONSISTENT');
    const notALayout = await cloud.call('PUT', '/v1/ops/stores/reference/layout', {
      token: admin,
      body: { floor: 3 },
    });
    expect(notALayout.status).toBe(400);
    expect(notALayout.body.error.issues.length).toBeGreaterThan(0);
    expect((await cloud.call('GET', '/v1/ops/stores/reference/layout', { token: admin })).body.version).toBe(
      1,
    );

    const loaded = await cloud.call('PUT', '/v1/ops/stores/reference/catalog', {
      token: admin,
      body: { catalog, validFrom: new Date(cloud.clock.ms - 60_000).toISOString() },
    });
    expect(loaded.body.pricesChanged).toBe(catalog.items.length);
    const g = await cloud.call('POST', '/v1/ops/stores/reference/devices', {
      token: admin,
      body: { kind: 'gate' },
    });
    const e = await cloud.call('POST', '/v1/ops/stores/reference/devices', {
      token: admin,
      body: { kind: 'edge' },
    });
    gate = `${g.body.id}:${g.body.secret}`;
    edge = connectEdge(cloud.grpcAddress, e.body.id, e.body.secret);
    seq = (await edge.welcome()).ackedSeq;
    const log = await cloud.call('GET', '/v1/ops/stores/reference/audit', { token: admin });
    expect(log.body.map((a: { action: string }) => a.action).reverse()).toEqual([
      'store.created',
      'layout.uploaded',
      'catalog.loaded',
      'device.created',
      'device.created',
    ]);
  });

  it('see only their own stores, and only admins change them', async () => {
    await cloud.call('POST', '/v1/ops/stores', { token: admin, body: { id: 'other', name: 'Other' } });
    await createOperator(
      cloud.ctx.db,
      {
        email: 'floor@example.test',
        password: 'operator password 1',
        name: 'Floor',
        role: 'operator',
        stores: ['other'],
      },
      1024,
    );
    const floor = await signIn('floor@example.test');
    expect(
      (await cloud.call('GET', '/v1/ops/stores', { token: floor })).body.map((s: { id: string }) => s.id),
    ).toEqual(['other']);
    for (const path of [
      '/v1/ops/stores/reference/visits',
      '/v1/ops/stores/reference/review',
      '/v1/ops/stores/reference/disputes',
      '/v1/ops/stores/reference/audit',
    ]) {
      const r = await cloud.call('GET', path, { token: floor });
      expect([path, r.status, r.body.error.code]).toEqual([path, 403, 'FORBIDDEN']);
    }
    expect((await cloud.call('GET', '/v1/ops/stores/other/visits', { token: floor })).status).toBe(200);
    const patch = await cloud.call('PATCH', '/v1/ops/stores/other', {
      token: floor,
      body: { isOpen: false },
    });
    expect(patch.status).toBe(403);
    const shopper = await newShopper(cloud, null);
    expect((await cloud.call('GET', '/v1/ops/stores', { token: shopper.token })).status).toBe(403);
    expect((await cloud.call('GET', '/v1/ops/stores')).status).toBe(401);
  });

  it('resolve the review queue: a corrected receipt is charged for what the operator saw', async () => {
    await cloud.call('PATCH', '/v1/ops/stores/reference', {
      token: admin,
      body: { reviewBelowConfidence: 0.8 },
    });
    const { shopper, visitId } = await visitWithItem(3, 0.4);
    const queue = await cloud.call('GET', '/v1/ops/stores/reference/review', { token: admin });
    const held = queue.body.find((q: { visitId: string }) => q.visitId === visitId);
    expect(held.lines).toEqual([{ sku: item.sku, quantity: 3, confidence: 0.4, evidence: ['clip-a'] }]);
    const resolved = await cloud.call('POST', `/v1/ops/receipts/${held.receiptId}/review`, {
      token: admin,
      body: { corrections: [{ sku: item.sku, quantity: 2 }] },
    });
    expect(resolved.status).toBe(200);
    await cloud.settlement.idle();
    const receipts = await cloud.call('GET', '/v1/me/receipts', { token: shopper.token });
    expect(receipts.body[0].lines.map((l: { quantity: number }) => l.quantity)).toEqual([2]);
    expect(receipts.body[0].totalMinor).toBe(2 * item.priceMinor);
    await cloud.call('PATCH', '/v1/ops/stores/reference', {
      token: admin,
      body: { reviewBelowConfidence: null },
    });
  });

  it('reach the store’s connected edge when they close the store or change its capacity', async () => {
    // A config that arrives after the change was asked for and says what it asked.
    const configAfter = (from: number, isOpen: boolean, capacity: number) =>
      edge.waitFor(
        (m) =>
          edge.received.indexOf(m) >= from && m.config?.isOpen === isOpen && m.config.capacity === capacity,
      );
    // waitFor rejects after 10 s: no such config, no pass.
    let from = edge.received.length;
    const closed = await cloud.call('PATCH', '/v1/ops/stores/reference', {
      token: admin,
      body: { isOpen: false, capacity: 12 },
    });
    expect(closed.status).toBe(200);
    expect((await configAfter(from, false, 12)).config).toMatchObject({ isOpen: false, capacity: 12 });
    from = edge.received.length;
    const opened = await cloud.call('PATCH', '/v1/ops/stores/reference', {
      token: admin,
      body: { isOpen: true, capacity: null },
    });
    expect(opened.status).toBe(200);
    expect((await configAfter(from, true, 0)).config).toMatchObject({ isOpen: true, capacity: 0 });
  });

  it('decide disputes: an accepted one is refunded once and the shopper is told; a rejected one is not', async () => {
    const { shopper } = await visitWithItem(2, 0.99);
    const [receipt] = (await cloud.call('GET', '/v1/me/receipts', { token: shopper.token })).body;
    const events = await fetch(`${cloud.httpUrl}/v1/me/events?access_token=${shopper.token}`);
    const reader = events.body!.getReader();
    const bad = await cloud.call('POST', `/v1/me/receipts/${receipt.id}/disputes`, {
      token: shopper.token,
      body: { lines: [{ lineNo: 1, quantity: 3 }], comment: 'too many' },
    });
    expect(bad.status).toBe(400);
    const opened = await cloud.call('POST', `/v1/me/receipts/${receipt.id}/disputes`, {
      token: shopper.token,
      body: { lines: [{ lineNo: 1, quantity: 1 }], comment: 'I put one back' },
    });
    expect(opened.status).toBe(201);
    const queue = await cloud.call('GET', '/v1/ops/stores/reference/disputes', { token: admin });
    expect(queue.body[0]).toMatchObject({
      id: opened.body.id,
      status: 'open',
      lines: [{ sku: item.sku, evidence: ['clip-a'] }],
    });

    const path = `/v1/ops/disputes/${opened.body.id}/decision`;
    const [first, second] = await Promise.all([
      cloud.call('POST', path, { token: admin, body: { accept: true, reason: 'video shows a put-back' } }),
      cloud.call('POST', path, { token: admin, body: { accept: true, reason: 'video shows a put-back' } }),
    ]);
    expect([first.status, second.status].sort()).toContain(200);
    const refunds = await cloud.ctx.db.query(
      `select s.refunded_minor from sandbox_payments s join payments p on p.provider_ref = s.ref
       where p.visit_id = $1 and p.kind = 'capture'`,
      [receipt.visitId],
    );
    expect(refunds.rows).toEqual([{ refunded_minor: item.priceMinor }]);
    let pushed = '';
    while (!pushed.includes('event: dispute'))
      pushed += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(pushed).toContain('"status":"accepted"');
    const mine = await cloud.call('GET', '/v1/me/disputes', { token: shopper.token });
    expect(mine.body[0]).toMatchObject({ status: 'accepted', refundMinor: item.priceMinor });

    const again = await cloud.call('POST', `/v1/me/receipts/${receipt.id}/disputes`, {
      token: shopper.token,
      body: { lines: [{ lineNo: 1, quantity: 1 }], comment: 'and the other' },
    });
    const rejected = await cloud.call('POST', `/v1/ops/disputes/${again.body.id}/decision`, {
      token: admin,
      body: { accept: false, reason: 'video shows it in the bag' },
    });
    expect(rejected.body).toMatchObject({ status: 'rejected', refundMinor: 0 });
  });

  it('take a dispute on a receipt never paid off its balance, once, and let the shopper pay the rest', async () => {
    // Holds are placed on this card, but captures and charges are declined.
    const { shopper, visitId } = await visitWithItem(2, 0.99, '4000000000000341');
    const [receipt] = (await cloud.call('GET', '/v1/me/receipts', { token: shopper.token })).body;
    expect(receipt.amountDueMinor).toBe(2 * item.priceMinor);
    // Paying with the same card is declined; that attempt must not stand in the way of the next one.
    const pay = () => cloud.call('POST', '/v1/me/balance/payments', { token: shopper.token });
    expect((await pay()).body).toEqual({ paidMinor: 0, dueMinor: 2 * item.priceMinor });

    const opened = await cloud.call('POST', `/v1/me/receipts/${receipt.id}/disputes`, {
      token: shopper.token,
      body: { lines: [{ lineNo: 1, quantity: 1 }], comment: 'I put one back' },
    });
    const path = `/v1/ops/disputes/${opened.body.id}/decision`;
    const decide = () =>
      cloud.call('POST', path, { token: admin, body: { accept: true, reason: 'put back' } });
    const [first, second] = await Promise.all([decide(), decide()]);
    expect([first.status, second.status]).toContain(200);
    const mine = await cloud.call('GET', '/v1/me/disputes', { token: shopper.token });
    expect(mine.body[0]).toMatchObject({ status: 'accepted', refundMinor: 0, creditMinor: item.priceMinor });
    const after = (await cloud.call('GET', `/v1/me/receipts/${receipt.id}`, { token: shopper.token })).body;
    expect(after.amountDueMinor).toBe(item.priceMinor);

    const t = await cloud.call('POST', '/sandbox/v1/tokens', {
      body: { number: '4242424242424242', expMonth: 1, expYear: 2099, cvc: '123' },
    });
    await cloud.call('POST', '/v1/me/payment-methods', {
      token: shopper.token,
      body: { token: t.body.token },
    });
    expect((await pay()).body).toEqual({ paidMinor: item.priceMinor, dueMinor: 0 });
    const charges = await cloud.ctx.db.query<{ amount_minor: number; status: string }>(
      `select amount_minor, status from payments where visit_id = $1 and idempotency_key like 'balance:%'
       order by created_at`,
      [visitId],
    );
    expect(charges.rows).toEqual([
      { amount_minor: 2 * item.priceMinor, status: 'declined' },
      { amount_minor: item.priceMinor, status: 'succeeded' },
    ]);
  });

  it('revoke a device: its next request is refused, cached or not, and an edge’s stream is cut at once', async () => {
    const device = async (kind: 'gate' | 'edge') =>
      (await cloud.call('POST', '/v1/ops/stores/reference/devices', { token: admin, body: { kind } })).body;
    const g = await device('gate');
    const basic = `${g.id}:${g.secret}`;
    const scan = () => cloud.call('POST', '/v1/gates/gate-in/scans', { basic, body: { qr: 'x.y.z' } });
    expect((await scan()).body).toMatchObject({ decision: 'deny', reason: 'bad_signature' });
    const e = await device('edge');
    const other = connectEdge(cloud.grpcAddress, e.id, e.secret);
    await other.welcome();
    for (const d of [g, e]) {
      const r = await cloud.call('DELETE', `/v1/ops/stores/reference/devices/${d.id}`, { token: admin });
      expect(r.body).toEqual({ revoked: true });
    }
    expect((await scan()).status).toBe(401);
    expect((await other.status).code).toBe(grpc.status.UNAUTHENTICATED);
    const reconnect = connectEdge(cloud.grpcAddress, e.id, e.secret);
    expect((await reconnect.status).code).toBe(grpc.status.UNAUTHENTICATED);
    const again = await cloud.call('DELETE', `/v1/ops/stores/reference/devices/${g.id}`, { token: admin });
    expect(again.status).toBe(404);
  });

  it('serve an OpenAPI document made from the same schemas that validate the requests', async () => {
    const doc = (await cloud.call('GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    const scan = doc.paths['/v1/gates/{gateId}/scans'].post;
    expect(scan.requestBody.content['application/json'].schema).toMatchObject({ required: ['qr'] });
    expect(scan.security).toEqual([{ device: [] }]);
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods as object).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const op of [
      'POST /v1/shoppers',
      'POST /v1/me/entry-codes',
      'GET /v1/me/receipts/{id}',
      'POST /v1/ops/disputes/{id}/decision',
    ]) {
      expect(ops).toContain(op);
    }
    // Every operation the document names answers something other than "no such route".
    for (const op of ops) {
      const [method, path] = op.split(' ') as [string, string];
      const r = await cloud.call(
        method,
        path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000'),
        method === 'GET' ? {} : { body: {} },
      );
      expect([op, r.body?.error?.message ?? '']).not.toEqual([op, expect.stringContaining('no route')]);
    }
  });

  it('see each live visit with its hold, a declined one among them', async () => {
    const live = async (card: string) => {
      const shopper = await newShopper(cloud, card);
      const code = await cloud.call('POST', '/v1/me/entry-codes', { token: shopper.token, body: {} });
      const r = await cloud.call('POST', '/v1/gates/gate-in/scans', {
        basic: gate,
        body: { qr: code.body.code },
      });
      expect(r.body.decision).toBe('open');
      return r.body.visitId as string;
    };
    const good = await live('4242424242424242');
    const declined = await live('4000000000000002');
    await gateIdle(cloud.ctx.gate);
    const visits = await cloud.call('GET', '/v1/ops/stores/reference/visits', { token: admin });
    const holdOf = (id: string) => visits.body.find((v: { visitId: string }) => v.visitId === id)?.hold;
    expect([holdOf(good), holdOf(declined)]).toEqual(['succeeded', 'declined']);
  });
});
