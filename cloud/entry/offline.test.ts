import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuedReceipt, newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { referenceCatalog, setUpStore, type TestStore } from '../../test/support/store.ts';
import { createOperator } from '../operators/service.ts';

let cloud: TestCloud;
let store: TestStore;
let operator: string;
const item = referenceCatalog.items.find((p) => p.soldBy === 'unit')!;

beforeAll(async () => {
  cloud = await startTestCloud('offline');
  store = await setUpStore(cloud);
  await createOperator(
    cloud.ctx.db,
    {
      email: 'op@example.test',
      password: 'operator password 1',
      name: 'Op',
      role: 'operator',
      stores: ['reference'],
    },
    1024,
  );
  const r = await cloud.call('POST', '/v1/ops/sessions', {
    body: { email: 'op@example.test', password: 'operator password 1' },
  });
  operator = r.body.accessToken;
});
afterAll(async () => {
  store?.disconnect();
  await cloud?.stop();
});

const codeOf = async (token: string) =>
  (await cloud.call('POST', '/v1/me/entry-codes', { token, body: {} })).body.code as string;

/** What an edge does when the cloud is unreachable: opens the gate, and reports it once it can. */
function enterOffline(qr: string, timeMs = cloud.clock.ms): { visitId: string; seq: number } {
  const visitId = randomUUID();
  return { visitId, seq: store.report({ offlineEntry: { visitId, gateId: 'g1', qr } }, timeMs) };
}

async function offlineEntry(seq: number) {
  const { rows } = await cloud.ctx.db.query(
    'select outcome, reason, visit_id from offline_entries where seq = $1',
    [seq],
  );
  return rows[0];
}

const payments = async (visitId: string) =>
  (
    await cloud.ctx.db.query<{ idempotency_key: string; amount_minor: number; status: string }>(
      'select idempotency_key, amount_minor, status from payments where visit_id = $1 order by created_at',
      [visitId],
    )
  ).rows;

describe('entries an edge admitted while the cloud was unreachable', () => {
  it('open a visit for a shopper already in one (the gate has opened), and the gate then says already_inside', async () => {
    const shopper = await newShopper(cloud);
    const scan = async () =>
      cloud.call('POST', '/v1/gates/g1/scans', {
        basic: store.gate,
        body: { qr: await codeOf(shopper.token) },
      });
    const first = await scan();
    expect(first.body.decision).toBe('open');
    const { visitId, seq } = enterOffline(await codeOf(shopper.token));
    await store.flushed();
    expect(await offlineEntry(seq)).toEqual({ outcome: 'admitted', reason: null, visit_id: visitId });
    await cloud.ctx.db.query("update visits set status = 'closed' where id = $1", [first.body.visitId]);
    expect((await scan()).body).toMatchObject({ decision: 'deny', reason: 'already_inside' });
    await cloud.ctx.db.query("update visits set status = 'closed' where id = $1", [visitId]);
  });

  it('become visits charged in full at the close, and their codes count as used', async () => {
    const shopper = await newShopper(cloud);
    const qr = await codeOf(shopper.token);
    const { visitId, seq } = enterOffline(qr);
    // Cart and close ride in the same batch as the entry that creates their visit.
    store.take(visitId, item.sku, 2);
    store.close(visitId);
    await store.flushed();
    expect(await offlineEntry(seq)).toEqual({ outcome: 'admitted', reason: null, visit_id: visitId });
    const receipt = await issuedReceipt(cloud, shopper.token);
    expect(receipt).toMatchObject({ visitId, totalMinor: 2 * item.priceMinor, amountDueMinor: 0 });
    // No hold was ever placed: one charge of the whole total.
    expect(await payments(visitId)).toEqual([
      { idempotency_key: `charge:${visitId}`, amount_minor: 2 * item.priceMinor, status: 'succeeded' },
    ]);
    const scan = await cloud.call('POST', '/v1/gates/g1/scans', { basic: store.gate, body: { qr } });
    expect(scan.body).toMatchObject({ decision: 'deny', reason: 'replayed' });
  });

  it('flag a reused or expired code: the visit is kept, but no money moves before an operator looks', async () => {
    const shopper = await newShopper(cloud);
    const qr = await codeOf(shopper.token);
    const first = enterOffline(qr);
    const second = enterOffline(qr); // the same screenshot at a second gate
    const old = await codeOf(shopper.token);
    cloud.clock.advance(31_000); // shown 31 s after it was fetched: it lived 30
    const late = enterOffline(old);
    for (const v of [first, second, late]) {
      store.take(v.visitId, item.sku, 1);
      store.close(v.visitId);
    }
    await store.flushed();
    await cloud.settlement.idle();
    expect((await offlineEntry(first.seq)).outcome).toBe('admitted');
    expect(await offlineEntry(second.seq)).toMatchObject({ outcome: 'flagged', reason: 'replayed' });
    expect(await offlineEntry(late.seq)).toMatchObject({ outcome: 'flagged', reason: 'expired' });
    expect(await payments(second.visitId)).toEqual([]);
    expect(await payments(late.visitId)).toEqual([]);
    const queue = await cloud.call('GET', '/v1/ops/stores/reference/review', { token: operator });
    const flagged = queue.body.filter((r: { visitId: string }) =>
      [second.visitId, late.visitId].includes(r.visitId),
    );
    expect(flagged.map((r: { entryFlag: string }) => r.entryFlag).sort()).toEqual(['expired', 'replayed']);
    const listed = await cloud.call('GET', '/v1/ops/stores/reference/offline-entries', { token: operator });
    expect(listed.status).toBe(200);
    expect(
      listed.body.filter((e: { seq: number }) => [first.seq, second.seq, late.seq].includes(e.seq)),
    ).toHaveLength(3);
  });

  it('refuse a code the cloud did not sign, and everything reported about its visit, keeping all of it', async () => {
    const shopper = await newShopper(cloud);
    const qr = await codeOf(shopper.token);
    const [h, p, sig] = qr.split('.');
    const forged = `${h}.${p}.${sig!.slice(0, -4)}AAAA`;
    const { visitId, seq } = enterOffline(forged);
    store.take(visitId, item.sku, 1);
    const ahead = enterOffline(await codeOf(shopper.token), cloud.clock.ms + 120_000);
    await store.flushed();
    expect(await offlineEntry(seq)).toMatchObject({ outcome: 'refused', visit_id: null });
    expect((await offlineEntry(ahead.seq)).reason).toMatch(/clock is 120 s ahead/);
    const rejected = await store.edge.waitFor((m) => m.rejected?.seq === seq);
    expect(rejected.rejected).toMatchObject({ code: 'OFFLINE_ENTRY_REFUSED' });
    const kept = await cloud.ctx.db.query<{ seq: number; code: string }>(
      'select seq, code from edge_rejections where seq between $1 and $2 order by seq',
      [seq, ahead.seq],
    );
    expect(kept.rows.map((r) => r.code)).toEqual([
      'OFFLINE_ENTRY_REFUSED',
      'VISIT_UNKNOWN',
      'OFFLINE_ENTRY_REFUSED',
    ]);
    const visits = await cloud.ctx.db.query('select 1 from visits where id = any($1::uuid[])', [
      [visitId, ahead.visitId],
    ]);
    expect(visits.rows).toHaveLength(0);
  });

  it('open a visit once however often the edge resends, and refuse a second entry under the same visit id', async () => {
    const shopper = await newShopper(cloud);
    const { visitId, seq } = enterOffline(await codeOf(shopper.token));
    await store.flushed();
    // The same message again (a resend after a reconnect), then a new entry reusing the id.
    store.edge.send({ seq, timeMs: cloud.clock.ms, offlineEntry: { visitId, gateId: 'g1', qr: 'x.y.z' } });
    const reuse = store.report({ offlineEntry: { visitId, gateId: 'g2', qr: await codeOf(shopper.token) } });
    await store.flushed();
    expect(await offlineEntry(seq)).toMatchObject({ outcome: 'admitted' });
    expect(await offlineEntry(reuse)).toMatchObject({ outcome: 'refused', reason: 'the visit id is taken' });
    const members = await cloud.ctx.db.query('select member_no from visit_members where visit_id = $1', [
      visitId,
    ]);
    expect(members.rows).toEqual([{ member_no: 0 }]);
  });

  it('charge a shopper with no card nothing at the close, and leave the total as a balance due', async () => {
    const shopper = await newShopper(cloud, null);
    const { visitId } = enterOffline(await codeOf(shopper.token));
    store.take(visitId, item.sku, 1);
    store.close(visitId);
    await store.flushed();
    const receipt = await issuedReceipt(cloud, shopper.token);
    expect(receipt).toMatchObject({ visitId, totalMinor: item.priceMinor, amountDueMinor: item.priceMinor });
    const due = await cloud.ctx.db.query('select amount_minor from balances_due where visit_id = $1', [
      visitId,
    ]);
    expect(due.rows).toEqual([{ amount_minor: item.priceMinor }]);
  });
});
