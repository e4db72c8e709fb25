import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { newShopper, type TestCloud } from '../../test/support/cloud.ts';
import { gateBench } from '../../test/support/gate.ts';
import { diesAfterAuthorise } from '../../test/support/payments.ts';
import { createDevice } from '../stores/devices.ts';
import { decideScan, gateIdle } from './gate.ts';
import { recoverHolds } from './recover.ts';

/**
 * A shopper whose answer was lost (the cloud died right after committing the admission, and the
 * gate gave up, or the shopper went to another entry gate) comes back with a new code: the quiet
 * visit their lost answer left is theirs, not a lock on the store for an hour.
 */

const bench = gateBench('gate-resume', [{ id: 'small', name: 'Small', capacity: 2 }]);
const { codeFor, scan, visitsOf } = bench;
let cloud: TestCloud;
let otherStoreGate: string;
beforeAll(() => {
  ({ cloud, otherStoreGate } = bench);
});

async function holdOps(visitId: string): Promise<number> {
  const { rows } = await cloud.ctx.db.query(
    'select count(*)::int as n from sandbox_operations where idempotency_key = $1',
    [`hold:${visitId}`],
  );
  return rows[0].n;
}

const closeAll = (shopperId: string) =>
  cloud.ctx.db.query("update visits set status = 'closed' where payer_id = $1", [shopperId]);

describe('a new code of a shopper whose visit nothing has reported on', () => {
  it('opens any gate of that store onto the same visit: no second visit, hold or admission', async () => {
    const s = await newShopper(cloud);
    const lost = await scan(await codeFor(s.token, 1), 'gate-1');
    expect(lost.body).toMatchObject({ decision: 'open', party: 2 });
    await gateIdle(cloud.ctx.gate);
    // The answer was lost: the process died right after committing, and the gate gave up.
    cloud = await bench.restart();
    const resumed = await scan(await codeFor(s.token), 'gate-2');
    // The party is the visit's, not the new code's.
    expect(resumed.body).toEqual(lost.body);
    await gateIdle(cloud.ctx.gate);

    expect(await visitsOf(s.id)).toEqual([{ id: lost.body.visitId, status: 'open', holds: 1 }]);
    expect(await holdOps(lost.body.visitId)).toBe(1);
    const members = await cloud.ctx.db.query(
      'select count(*)::int as n from visit_members where visit_id = $1',
      [lost.body.visitId],
    );
    expect(members.rows[0].n).toBe(2);
    const decisions = await cloud.ctx.db.query(
      'select decision, reason, gate_id, latency_ms > 0 as timed from gate_decisions where visit_id = $1 order by time, reason nulls first',
      [lost.body.visitId],
    );
    // `reason is null` still counts admissions: one.
    expect(decisions.rows).toEqual([
      { decision: 'open', reason: null, gate_id: 'gate-1', timed: true },
      { decision: 'open', reason: 'resumed', gate_id: 'gate-2', timed: true },
    ]);
    await closeAll(s.id);
  });

  it("claims the new code's nonce: another gate is then told it is a replay, its own gate the same answer", async () => {
    const s = await newShopper(cloud);
    const first = await scan(await codeFor(s.token), 'gate-1');
    const qr = await codeFor(s.token);
    const resumed = await scan(qr, 'gate-2');
    expect(resumed.body).toMatchObject({ decision: 'open', visitId: first.body.visitId });
    expect((await scan(qr, 'gate-3')).body).toMatchObject({ decision: 'deny', reason: 'replayed' });
    expect((await scan(qr, 'gate-2')).body).toEqual(resumed.body);
    const redeemed = await cloud.ctx.db.query(
      'select count(*)::int as n from entry_redemptions where visit_id = $1',
      [first.body.visitId],
    );
    expect(redeemed.rows[0].n).toBe(2);
    expect((await visitsOf(s.id)).length).toBe(1);
    await closeAll(s.id);
  });

  it('asks for the hold the lost answer never got to, once', async () => {
    const s = await newShopper(cloud);
    const dying = { ...cloud.ctx.gate, provider: diesAfterAuthorise(cloud.ctx.provider) };
    const first = await decideScan(dying, { storeId: 'west', gateId: 'gate-1', qr: await codeFor(s.token) });
    await gateIdle(dying);
    const visitId = first.decision === 'open' ? first.visitId : '';
    const hold = async () =>
      (
        await cloud.ctx.db.query('select status from payments where idempotency_key = $1', [
          `hold:${visitId}`,
        ])
      ).rows[0].status;
    expect(await hold()).toBe('pending');
    expect((await scan(await codeFor(s.token), 'gate-2')).body).toMatchObject({ decision: 'open', visitId });
    await gateIdle(cloud.ctx.gate);
    expect(await hold()).toBe('succeeded');
    expect(await holdOps(visitId)).toBe(1);
    await closeAll(s.id);
  });

  it('leaves a restart one hold to ask for and no decision to restore, two codes redeemed or not', async () => {
    const s = await newShopper(cloud);
    const dying = { ...cloud.ctx.gate, provider: diesAfterAuthorise(cloud.ctx.provider) };
    const first = await decideScan(dying, { storeId: 'west', gateId: 'gate-1', qr: await codeFor(s.token) });
    const visitId = first.decision === 'open' ? first.visitId : '';
    await gateIdle(dying);
    // The process died before the admission's latency was added to its row.
    await cloud.ctx.db.query('update gate_decisions set latency_ms = null where visit_id = $1', [visitId]);
    const again = await decideScan(dying, { storeId: 'west', gateId: 'gate-2', qr: await codeFor(s.token) });
    expect(again).toMatchObject({ decision: 'open', visitId });
    await gateIdle(dying);
    const asked = await recoverHolds(
      cloud.ctx.db,
      cloud.ctx.provider,
      createLogger('recover-test'),
      new Date(cloud.clock.ms + 1000),
    );
    expect(asked).toBe(1);
    expect(await holdOps(visitId)).toBe(1);
    // Both rows have the same time (the clock is frozen): the resumption's latency is its own.
    const rows = await cloud.ctx.db.query(
      'select reason, latency_ms > 0 as timed from gate_decisions where visit_id = $1 order by reason',
      [visitId],
    );
    expect(rows.rows).toEqual([
      { reason: 'resumed', timed: true },
      { reason: null, timed: null },
    ]);
    await closeAll(s.id);
  });

  it('opens a full store onto the visit the shopper already counts in', async () => {
    const d = await createDevice(cloud.ctx.db, 'small', 'gate');
    const small = `${d.id}:${d.secret}`;
    const s = await newShopper(cloud);
    const first = await scan(await codeFor(s.token, 1), 's-1', small);
    expect(first.body).toMatchObject({ decision: 'open', party: 2 });
    const resumed = await scan(await codeFor(s.token, 1), 's-2', small);
    expect(resumed.body).toEqual(first.body);
    expect((await visitsOf(s.id)).length).toBe(1);
    await closeAll(s.id);
  });

  it('takes two new codes at two gates at the same moment onto the one visit', async () => {
    for (let round = 0; round < 3; round++) {
      const s = await newShopper(cloud);
      const first = await scan(await codeFor(s.token), 'gate-1');
      const codes = [await codeFor(s.token), await codeFor(s.token)];
      const both = await Promise.all([scan(codes[0]!, 'gate-2'), scan(codes[1]!, 'gate-3')]);
      for (const r of both) expect(r.body).toEqual(first.body);
      await gateIdle(cloud.ctx.gate);
      expect(await visitsOf(s.id)).toEqual([{ id: first.body.visitId, status: 'open', holds: 1 }]);
      expect(await holdOps(first.body.visitId)).toBe(1);
      await closeAll(s.id);
    }
  });

  it('gives one code scanned at two gates at the same moment to one of them', async () => {
    for (let round = 0; round < 3; round++) {
      const s = await newShopper(cloud);
      const first = await scan(await codeFor(s.token), 'gate-1');
      const qr = await codeFor(s.token);
      const both = await Promise.all([scan(qr, 'gate-2'), scan(qr, 'gate-3')]);
      const answers = both.map((r) => (r.body.decision === 'open' ? r.body.visitId : r.body.reason)).sort();
      expect(answers).toEqual([first.body.visitId, 'replayed'].sort());
      expect((await visitsOf(s.id)).length).toBe(1);
      await closeAll(s.id);
    }
  });
});

describe('a new code racing the end of the quiet visit', () => {
  it('waits for an expiry holding the visit, then opens a new visit rather than the expired one', async () => {
    const s = await newShopper(cloud);
    const first = await scan(await codeFor(s.token), 'gate-1');
    const qr = await codeFor(s.token);
    // The settlement sweep's expiry, caught between locking the visit and committing.
    const sweep = await cloud.ctx.db.connect();
    try {
      await sweep.query('begin');
      await sweep.query("select 1 from visits where id = $1 and status = 'open' for update", [
        first.body.visitId,
      ]);
      const pending = scan(qr, 'gate-2');
      await new Promise((res) => setTimeout(res, 200));
      await sweep.query("update visits set status = 'expired', closed_at = now() where id = $1", [
        first.body.visitId,
      ]);
      await sweep.query('commit');
      const r = await pending;
      expect(r.body.decision).toBe('open');
      expect(r.body.visitId).not.toBe(first.body.visitId);
    } finally {
      sweep.release();
    }
    await gateIdle(cloud.ctx.gate);
    expect((await visitsOf(s.id)).map((v) => v.status)).toEqual(['expired', 'open']);
    const onExpired = await cloud.ctx.db.query(
      'select count(*)::int as n from entry_redemptions where visit_id = $1',
      [first.body.visitId],
    );
    expect(onExpired.rows[0].n).toBe(1);
    await closeAll(s.id);
  });
});

describe('a new code of a shopper whose visit is not resumable', () => {
  it('is already_inside once a member of the visit was reported entering', async () => {
    const s = await newShopper(cloud);
    const first = await scan(await codeFor(s.token), 'gate-1');
    await cloud.ctx.db.query('update visit_members set entered_at = now() where visit_id = $1', [
      first.body.visitId,
    ]);
    expect((await scan(await codeFor(s.token), 'gate-2')).body).toMatchObject({
      decision: 'deny',
      reason: 'already_inside',
    });
    expect((await visitsOf(s.id)).length).toBe(1);
    await closeAll(s.id);
  });

  it('is already_inside once the visit has a cart event', async () => {
    const s = await newShopper(cloud);
    const first = await scan(await codeFor(s.token), 'gate-1');
    await cloud.ctx.db.query(
      `insert into cart_events (time, store_id, visit_id, member_no, sku, quantity, confidence, evidence, device_id, seq)
       values (now(), 'west', $1, 0, 'sku-1', 1, 0.9, '{}', 'edge-x', 1)`,
      [first.body.visitId],
    );
    expect((await scan(await codeFor(s.token), 'gate-1')).body).toMatchObject({
      decision: 'deny',
      reason: 'already_inside',
    });
    await closeAll(s.id);
  });

  it('is already_inside in another store, and its code stays unused', async () => {
    const s = await newShopper(cloud);
    const first = await scan(await codeFor(s.token), 'gate-1');
    const qr = await codeFor(s.token);
    expect((await scan(qr, 'h-1', otherStoreGate)).body).toMatchObject({
      decision: 'deny',
      reason: 'already_inside',
    });
    expect((await visitsOf(s.id)).length).toBe(1);
    // The same code, once the visit has ended, still opens.
    await cloud.ctx.db.query("update visits set status = 'expired' where id = $1", [first.body.visitId]);
    const later = await scan(qr, 'h-1', otherStoreGate);
    expect(later.body.decision).toBe('open');
    expect(later.body.visitId).not.toBe(first.body.visitId);
    await closeAll(s.id);
  });
});
