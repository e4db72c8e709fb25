import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../proto/catalog/schema.ts';
import { loadJsonFile } from '../../proto/index.ts';
import { issuedReceipt, newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { connectEdge, type EdgeClient } from '../../test/support/edge-client.ts';
import { NOTICE_CHANNEL } from '../db/notices.ts';
import { gateIdle } from '../entry/gate.ts';
import { addMultibuy, importCatalog } from '../stores/catalog.ts';
import { createDevice, createStore } from '../stores/devices.ts';
import type { SettleStep } from './settle.ts';

const catalog = loadJsonFile(
  new URL('../../proto/stores/reference/catalog.json', import.meta.url).pathname,
  Catalog,
);
const unitItems = catalog.items.filter((i) => i.soldBy === 'unit');
const [a, b] = [unitItems[0]!, unitItems[1]!];

let cloud: TestCloud;
let gate: string;
let edgeCreds: { id: string; secret: string };
let seq = 0;
let edge: EdgeClient;

beforeAll(async () => {
  cloud = await startTestCloud('settle', { HOLD_AMOUNT_MINOR: '1000', SETTLE_SWEEP_MS: '60000' });
  await createStore(cloud.ctx.db, { id: 'reference', name: 'Reference store' });
  await importCatalog(cloud.ctx.db, 'reference', catalog, new Date(cloud.clock.ms - 3_600_000));
  const g = await createDevice(cloud.ctx.db, 'reference', 'gate');
  gate = `${g.id}:${g.secret}`;
  edgeCreds = await createDevice(cloud.ctx.db, 'reference', 'edge');
  edge = await reconnect();
});
afterAll(async () => {
  edge?.close();
  await cloud?.stop();
});

async function reconnect(): Promise<EdgeClient> {
  const e = connectEdge(cloud.grpcAddress, edgeCreds.id, edgeCreds.secret);
  seq = (await e.welcome()).ackedSeq;
  return e;
}

async function enter(
  card = '4242424242424242',
): Promise<{ shopper: { id: string; token: string }; visitId: string }> {
  const shopper = await newShopper(cloud, card);
  const code = await cloud.call('POST', '/v1/me/entry-codes', { token: shopper.token, body: {} });
  const r = await cloud.call('POST', '/v1/gates/g1/scans', { basic: gate, body: { qr: code.body.code } });
  expect(r.body.decision).toBe('open');
  return { shopper, visitId: r.body.visitId };
}

const take = (visitId: string, sku: string, quantity: number, confidence = 0.98) => ({
  seq: ++seq,
  timeMs: cloud.clock.ms,
  cart: { visitId, memberNo: 0, sku, quantity, confidence, evidence: [`clip-${seq}`], grams: 0 },
});
const close = (visitId: string) => ({
  seq: ++seq,
  timeMs: cloud.clock.ms,
  visit: { visitId, kind: 'VISIT_CLOSED' },
});

const receiptOf = (token: string) => issuedReceipt(cloud, token);

async function sandboxFor(visitId: string) {
  const { rows } = await cloud.ctx.db.query(
    `select s.amount_minor, s.captured_minor, s.released from payments p join sandbox_payments s on s.ref = p.provider_ref
     where p.visit_id = $1 and p.kind = 'hold'`,
    [visitId],
  );
  const ops = await cloud.ctx.db.query<{ operation: string; n: number }>(
    `select operation, count(*)::int as n from sandbox_operations where idempotency_key like '%' || $1 group by 1 order by 1`,
    [visitId],
  );
  return { hold: rows[0], ops: Object.fromEntries(ops.rows.map((r) => [r.operation, r.n])) };
}

describe('settlement', () => {
  it('turns a visit into a receipt pushed to the app, captured from the hold, with loyalty points', async () => {
    const { shopper, visitId } = await enter();
    const events = await fetch(`${cloud.httpUrl}/v1/me/events?access_token=${shopper.token}`);
    const reader = events.body!.getReader();
    edge.send(take(visitId, a.sku, 2));
    edge.send(take(visitId, b.sku, 1));
    edge.send(take(visitId, b.sku, -1));
    await edge.waitForAck(seq);
    const live = await cloud.call('GET', '/v1/me/visit', { token: shopper.token });
    expect(live.body.visit.cart).toEqual([{ sku: a.sku, name: a.name, quantity: 2 }]);

    edge.send(close(visitId));
    let pushed = '';
    while (!pushed.includes('event: receipt'))
      pushed += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const receipt = await receiptOf(shopper.token);
    expect(pushed).toContain(receipt.id);
    expect(receipt.lines.map((l: { sku: string; quantity: number }) => [l.sku, l.quantity])).toEqual([
      [a.sku, 2],
    ]);
    expect(receipt.totalMinor).toBe(2 * a.priceMinor);
    expect(receipt.amountDueMinor).toBe(0);
    const money = await sandboxFor(visitId);
    expect(money.hold).toMatchObject({ captured_minor: 2 * a.priceMinor, released: false });
    expect(money.ops).toEqual({ authorise: 1, capture: 1 });
    const me = await cloud.call('GET', '/v1/me', { token: shopper.token });
    expect(me.body.loyaltyPoints).toBe(Math.floor((2 * a.priceMinor) / 100));
    expect((await cloud.call('GET', '/v1/me/visit', { token: shopper.token })).body.visit).toBeNull();
  });

  it('still pushes receipts after the database drops the listening connection', async () => {
    // Only this file's database: other test files' clouds listen on the same channel.
    const listeners = () =>
      cloud.ctx.db
        .query<{ pid: number }>(
          'select pid from pg_stat_activity where datname = current_database() and query = $1',
          [`listen ${NOTICE_CHANNEL}`],
        )
        .then((r) => r.rows.map((row) => row.pid));
    const before = await listeners();
    expect(before, 'the cloud listens on one connection').toHaveLength(1);
    const killed = await cloud.ctx.db.query('select pg_terminate_backend($1) as killed', [before[0]]);
    expect(killed.rows[0].killed).toBe(true);
    let after: number[] = [];
    for (let waited = 0; waited < 5000 && !(after.length === 1 && after[0] !== before[0]); waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      after = await listeners();
    }
    expect(after, 'a new listening connection within 5 s').toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    const { shopper, visitId } = await enter();
    const events = await fetch(`${cloud.httpUrl}/v1/me/events?access_token=${shopper.token}`);
    const reader = events.body!.getReader();
    edge.send(take(visitId, a.sku, 1));
    edge.send(close(visitId));
    let pushed = '';
    while (!pushed.includes('event: receipt'))
      pushed += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(pushed).toContain(visitId);
  });

  it('gives one cart for duplicated and reordered events across a reconnect', async () => {
    const { shopper, visitId } = await enter();
    const msgs = [
      take(visitId, a.sku, 1),
      take(visitId, b.sku, 2),
      take(visitId, a.sku, 1),
      take(visitId, b.sku, -1),
    ];
    for (const m of [msgs[2]!, msgs[0]!, msgs[3]!, msgs[0]!]) edge.send(m);
    await new Promise((r) => setTimeout(r, 100));
    edge.close();
    edge = await reconnect();
    seq = msgs[3]!.seq;
    for (const m of [msgs[1]!, msgs[3]!, msgs[2]!, msgs[1]!]) edge.send(m);
    edge.send(close(visitId));
    const receipt = await receiptOf(shopper.token);
    expect(receipt.lines.map((l: { sku: string; quantity: number }) => [l.sku, l.quantity])).toEqual(
      [
        [a.sku, 2],
        [b.sku, 1],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
  });

  it('releases the hold for an empty cart and charges beyond the hold separately', async () => {
    const empty = await enter();
    edge.send(close(empty.visitId));
    expect((await receiptOf(empty.shopper.token)).totalMinor).toBe(0);
    expect((await sandboxFor(empty.visitId)).hold).toMatchObject({ captured_minor: 0, released: true });

    const big = await enter();
    await addMultibuy(cloud.ctx.db, {
      storeId: 'reference',
      sku: b.sku,
      name: 'two for one',
      buyQty: 2,
      bundleMinor: b.priceMinor,
      validFrom: new Date(cloud.clock.ms - 1000),
    });
    const units = Math.ceil(1500 / a.priceMinor);
    edge.send(take(big.visitId, a.sku, units));
    edge.send(take(big.visitId, b.sku, 2));
    edge.send(close(big.visitId));
    const r = await receiptOf(big.shopper.token);
    expect(r.discountMinor).toBe(b.priceMinor);
    expect(r.totalMinor).toBe(units * a.priceMinor + b.priceMinor);
    const money = await sandboxFor(big.visitId);
    expect(money.hold).toMatchObject({ captured_minor: 1000 });
    expect(money.ops).toEqual({ authorise: 1, capture: 1, charge: 1 });
    const charge = await cloud.ctx.db.query(
      'select amount_minor, status from payments where idempotency_key = $1',
      [`charge:${big.visitId}`],
    );
    expect(charge.rows[0]).toEqual({ amount_minor: r.totalMinor - 1000, status: 'succeeded' });
  });

  it('leaves a balance due when the capture is declined, which blocks the next entry', async () => {
    const { shopper, visitId } = await enter('4000000000000341');
    edge.send(take(visitId, a.sku, 1));
    edge.send(close(visitId));
    const r = await receiptOf(shopper.token);
    expect(r.amountDueMinor).toBe(a.priceMinor);
    expect(r.pointsEarned).toBe(0);
    expect((await sandboxFor(visitId)).hold).toMatchObject({ captured_minor: 0, released: true });
    const code = await cloud.call('POST', '/v1/me/entry-codes', { token: shopper.token, body: {} });
    const again = await cloud.call('POST', '/v1/gates/g1/scans', {
      basic: gate,
      body: { qr: code.body.code },
    });
    expect(again.body).toMatchObject({ decision: 'deny', reason: 'unpaid_balance' });

    const t = await cloud.call('POST', '/sandbox/v1/tokens', {
      body: { number: '4242424242424242', expMonth: 1, expYear: 2099, cvc: '123' },
    });
    await cloud.call('POST', '/v1/me/payment-methods', {
      token: shopper.token,
      body: { token: t.body.token },
    });
    const pay = () => cloud.call('POST', '/v1/me/balance/payments', { token: shopper.token });
    expect((await pay()).body).toEqual({ paidMinor: a.priceMinor, dueMinor: 0 });
    expect((await pay()).body).toEqual({ paidMinor: 0, dueMinor: 0 });
    const charges = await cloud.ctx.db.query(
      "select count(*)::int as n from sandbox_operations where operation = 'charge' and idempotency_key like 'balance:%'",
    );
    expect(charges.rows[0].n).toBe(1);
    const code2 = await cloud.call('POST', '/v1/me/entry-codes', { token: shopper.token, body: {} });
    const now = await cloud.call('POST', '/v1/gates/g1/scans', {
      basic: gate,
      body: { qr: code2.body.code },
    });
    expect(now.body.decision).toBe('open');
  });

  it('charges the whole visit to the card of now when the bank declined the hold after the gate opened', async () => {
    const { shopper, visitId } = await enter('4000000000000002');
    await gateIdle(cloud.ctx.gate);
    const hold = await cloud.ctx.db.query('select status from payments where idempotency_key = $1', [
      `hold:${visitId}`,
    ]);
    expect(hold.rows[0]?.status).toBe('declined');
    const t = await cloud.call('POST', '/sandbox/v1/tokens', {
      body: { number: '4242424242424242', expMonth: 1, expYear: 2099, cvc: '123' },
    });
    await cloud.call('POST', '/v1/me/payment-methods', {
      token: shopper.token,
      body: { token: t.body.token },
    });
    edge.send(take(visitId, a.sku, 2));
    edge.send(close(visitId));
    const r = await receiptOf(shopper.token);
    expect(r).toMatchObject({ totalMinor: 2 * a.priceMinor, amountDueMinor: 0 });
    const charge = await cloud.ctx.db.query(
      'select amount_minor, status from payments where idempotency_key = $1',
      [`charge:${visitId}`],
    );
    expect(charge.rows).toEqual([{ amount_minor: 2 * a.priceMinor, status: 'succeeded' }]);
    expect((await sandboxFor(visitId)).ops).toEqual({ authorise: 1, charge: 1 });
  });

  it('asks for a hold still unanswered at the close, once, and captures it', async () => {
    const { shopper, visitId } = await enter();
    await gateIdle(cloud.ctx.gate);
    // What a provider that did not answer at the gate leaves: the hold to be asked for again.
    await cloud.ctx.db.query(
      "update payments set status = 'failed', provider_ref = null where idempotency_key = $1",
      [`hold:${visitId}`],
    );
    edge.send(take(visitId, a.sku, 1));
    edge.send(close(visitId));
    const r = await receiptOf(shopper.token);
    expect(r).toMatchObject({ totalMinor: a.priceMinor, amountDueMinor: 0 });
    const money = await sandboxFor(visitId);
    expect(money.hold).toMatchObject({ captured_minor: a.priceMinor });
    expect(money.ops).toEqual({ authorise: 1, capture: 1 });
  });

  it('holds a receipt with a doubtful line for review, charging nothing', async () => {
    await cloud.ctx.db.query("update stores set review_below_confidence = 0.8 where id = 'reference'");
    const { shopper, visitId } = await enter();
    edge.send(take(visitId, a.sku, 1, 0.55));
    edge.send(close(visitId));
    await edge.waitForAck(seq);
    await cloud.settlement.idle();
    const { rows } = await cloud.ctx.db.query('select status from receipts where visit_id = $1', [visitId]);
    expect(rows[0]?.status).toBe('review');
    expect((await sandboxFor(visitId)).hold).toMatchObject({ captured_minor: 0, released: false });
    expect((await cloud.call('GET', '/v1/me/receipts', { token: shopper.token })).body).toEqual([]);
    await cloud.ctx.db.query("update stores set review_below_confidence = null where id = 'reference'");
  });

  it('holds for review a receipt whose unsure put-back netted its line away, or whose line came with a doubt', async () => {
    await cloud.ctx.db.query("update stores set review_below_confidence = 0.6 where id = 'reference'");
    const unsure = await enter();
    edge.send(take(unsure.visitId, a.sku, 1));
    edge.send(take(unsure.visitId, b.sku, 1));
    edge.send(take(unsure.visitId, a.sku, -1, 0.45));
    edge.send(close(unsure.visitId));
    const doubted = await enter();
    edge.send(take(doubted.visitId, a.sku, 1));
    const twin = take(doubted.visitId, b.sku, 1);
    edge.send({ ...twin, cart: { ...twin.cart, evidence: ['weight:S1@1', 'doubt:lookalike'] } });
    edge.send(close(doubted.visitId));
    await edge.waitForAck(seq);
    await cloud.settlement.idle();
    const { rows } = await cloud.ctx.db.query<{ visit_id: string; status: string }>(
      'select visit_id, status from receipts where visit_id = any($1)',
      [[unsure.visitId, doubted.visitId]],
    );
    expect(rows.map((r) => r.status)).toEqual(['review', 'review']);
    await cloud.ctx.db.query("update stores set review_below_confidence = null where id = 'reference'");
  });

  const steps: SettleStep[] = ['priced', 'requested', 'answered', 'recorded', 'finalized'];
  it.each(steps)('settles exactly once when the process dies after step "%s"', async (step) => {
    const { shopper, visitId } = await enter();
    edge.close();
    let crashed = false;
    cloud = await cloud.restart({
      settleCheckpoint: (s, v) => {
        if (s === step && v === visitId && !crashed) {
          crashed = true;
          throw new Error(`crash after ${s}`);
        }
      },
    });
    edge = await reconnect();
    edge.send(take(visitId, a.sku, 3));
    edge.send(close(visitId));
    await edge.waitForAck(seq);
    while (!crashed) await new Promise((r) => setTimeout(r, 10));
    await cloud.settlement.idle();
    edge.close();
    cloud = await cloud.restart();
    edge = await reconnect();
    const receipt = await receiptOf(shopper.token);
    expect(receipt.totalMinor).toBe(3 * a.priceMinor);
    const money = await sandboxFor(visitId);
    expect(money.ops).toEqual({ authorise: 1, capture: 1 });
    expect(money.hold?.captured_minor).toBe(3 * a.priceMinor);
    const counts = await cloud.ctx.db.query(
      `select (select count(*)::int from receipts where visit_id = $1) as receipts,
              (select count(*)::int from payments where visit_id = $1 and kind = 'capture') as captures,
              (select points from loyalty_accounts where shopper_id = $2)::int as points`,
      [visitId, shopper.id],
    );
    expect(counts.rows[0]).toEqual({
      receipts: 1,
      captures: 1,
      points: Math.floor((3 * a.priceMinor) / 100),
    });
  });
});
