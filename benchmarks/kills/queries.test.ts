import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuedReceipt, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { referenceCatalog, setUpStore, type TestStore } from '../../test/support/store.ts';
import { checkInvariants, type EdgeFacts, RULES } from './invariants.ts';
import { readRows } from './queries.ts';

/**
 * The rows the kill test judges come from the cloud's tables and the sandbox provider's books,
 * joined by the idempotency keys the cloud asks under: one real visit through gate, edge and
 * settlement must read as sound, and the same books altered as a bug would must not.
 */
let cloud: TestCloud;
let store: TestStore;
let visitId: string;
const edges: EdgeFacts = { sent: [], ackStalls: [], ackRegressions: 0 };

beforeAll(async () => {
  cloud = await startTestCloud('kills_queries');
  store = await setUpStore(cloud);
  const entered = await store.enter();
  visitId = entered.visitId;
  const device = (await cloud.ctx.db.query<{ id: string }>("select id from devices where kind = 'edge'"))
    .rows[0]!.id;
  const sku = referenceCatalog.items.find((i) => i.soldBy === 'unit')!.sku;
  for (const quantity of [2, -1]) {
    store.take(visitId, sku, quantity);
    edges.sent.push({ device, seq: edges.sent.length + 1, body: 'cart', visitId, sku, quantity });
  }
  store.close(visitId);
  edges.sent.push({ device, seq: edges.sent.length + 1, body: 'close', visitId });
  await issuedReceipt(cloud, entered.shopper.token);
});

afterAll(async () => {
  store?.disconnect();
  await cloud?.stop();
});

const broken = async () => {
  const v = checkInvariants(await readRows(cloud.ctx.db), edges);
  return Object.fromEntries(RULES.filter((r) => v[r] > 0).map((r) => [r, v[r]]));
};

describe('the kill test’s rows', () => {
  it('read a settled visit as sound, its hold found through its key', async () => {
    // The gate's decision row is written in the background, after the answer.
    for (let i = 0; i < 100 && (await broken()).missingGateDecisions; i++)
      await new Promise((r) => setTimeout(r, 20));
    const rows = await readRows(cloud.ctx.db);
    expect(rows.holds).toHaveLength(1);
    expect(rows.holds[0]!.visitId).toBe(visitId);
    expect(rows.holds[0]!.capturedMinor).toBeGreaterThan(0);
    expect(await broken()).toEqual({});
  });

  it('see the provider take the money a second time', async () => {
    await cloud.ctx.db.query('update sandbox_payments set captured_minor = captured_minor * 2');
    expect(await broken()).toMatchObject({ doubleCaptures: 1 });
    await cloud.ctx.db.query('update sandbox_payments set captured_minor = captured_minor / 2');
  });

  it('see a lost gate decision and a cart event stored twice', async () => {
    await cloud.ctx.db.query('delete from gate_decisions');
    await cloud.ctx.db.query('insert into cart_events select * from cart_events where seq = 1');
    expect(await broken()).toEqual({ missingGateDecisions: 1, doubledCartEvents: 1 });
  });
});
