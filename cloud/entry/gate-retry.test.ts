import { beforeAll, describe, expect, it } from 'vitest';
import { newShopper, type TestCloud } from '../../test/support/cloud.ts';
import { gateBench } from '../../test/support/gate.ts';
import { diesAfterAuthorise } from '../../test/support/payments.ts';
import type { PaymentProvider, ProviderOutcome } from '../payments/provider.ts';
import { decideScan, gateIdle } from './gate.ts';

/**
 * What a gate gets when its answer was lost (the cloud died after committing the admission), and
 * the rule that a shopper is in one visit at a time.
 */

const bench = gateBench('gate-retry');
const { codeFor, scan, visitsOf } = bench;
let cloud: TestCloud;
let otherStoreGate: string;
beforeAll(() => {
  ({ cloud, otherStoreGate } = bench);
});

async function decisionsOf(visitId: string) {
  const { rows } = await cloud.ctx.db.query(
    'select decision, reason, gate_id from gate_decisions where visit_id = $1 order by time, reason nulls first',
    [visitId],
  );
  return rows;
}

describe('a gate asking again about a code it was answered for', () => {
  it('gets the first answer after the cloud restarts, within the retry window, with one visit and one hold', async () => {
    const s = await newShopper(cloud);
    const qr = await codeFor(s.token, 1);
    const first = await scan(qr);
    expect(first.body).toMatchObject({ decision: 'open', party: 2 });
    await gateIdle(cloud.ctx.gate);
    // The answer was lost: the process died right after committing the admission.
    cloud = await bench.restart();
    const again = await scan(qr);
    expect(again.body).toEqual(first.body);
    // The payer scanning for the party's second member is the same question.
    expect((await scan(qr)).body).toEqual(first.body);
    // Past the code's life, within the window: still the first answer, from that gate only.
    cloud.clock.advance(31_000);
    expect((await scan(qr)).body).toEqual(first.body);
    expect((await scan(qr, 'gate-2')).body).toMatchObject({ decision: 'deny', reason: 'expired' });
    cloud.clock.advance(60_000);
    expect((await scan(qr)).body).toMatchObject({ decision: 'deny', reason: 'expired' });

    expect(await visitsOf(s.id)).toEqual([{ id: first.body.visitId, status: 'open', holds: 1 }]);
    const ops = await cloud.ctx.db.query(
      'select count(*)::int as n from sandbox_operations where idempotency_key = $1',
      [`hold:${first.body.visitId}`],
    );
    expect(ops.rows[0].n).toBe(1);
    expect(await decisionsOf(first.body.visitId)).toEqual([
      { decision: 'open', reason: null, gate_id: 'gate-1' },
      { decision: 'open', reason: 'retry', gate_id: 'gate-1' },
      { decision: 'open', reason: 'retry', gate_id: 'gate-1' },
      { decision: 'open', reason: 'retry', gate_id: 'gate-1' },
    ]);
    await cloud.ctx.db.query("update visits set status = 'closed' where payer_id = $1", [s.id]);
  });

  it('asks for the hold the lost answer never got to', async () => {
    const s = await newShopper(cloud);
    const qr = await codeFor(s.token);
    const real = cloud.ctx.provider;
    // The provider placed the hold, but the process died before its answer was recorded.
    const dying = diesAfterAuthorise(real);
    const deps = { ...cloud.ctx.gate, provider: dying };
    const first = await decideScan(deps, { storeId: 'west', gateId: 'gate-1', qr });
    await gateIdle(deps);
    const visitId = first.decision === 'open' ? first.visitId : '';
    const hold = async () =>
      (
        await cloud.ctx.db.query('select status from payments where idempotency_key = $1', [
          `hold:${visitId}`,
        ])
      ).rows[0].status;
    expect(await hold()).toBe('pending');
    expect((await scan(qr)).body).toMatchObject({ decision: 'open', visitId });
    await gateIdle(cloud.ctx.gate);
    expect(await hold()).toBe('succeeded');
    const ops = await cloud.ctx.db.query(
      'select count(*)::int as n from sandbox_operations where idempotency_key = $1',
      [`hold:${visitId}`],
    );
    expect(ops.rows[0].n).toBe(1);
    await cloud.ctx.db.query("update visits set status = 'closed' where id = $1", [visitId]);
  });

  it('is a replay from another gate, or once the visit has ended', async () => {
    const s = await newShopper(cloud);
    const qr = await codeFor(s.token);
    const first = await scan(qr, 'gate-1');
    expect(first.body.decision).toBe('open');
    expect((await scan(qr, 'gate-2')).body).toMatchObject({ decision: 'deny', reason: 'replayed' });
    await cloud.ctx.db.query("update visits set status = 'closed' where id = $1", [first.body.visitId]);
    expect((await scan(qr, 'gate-1')).body).toMatchObject({ decision: 'deny', reason: 'replayed' });
    expect((await visitsOf(s.id)).length).toBe(1);
  });
});

describe('one visit at a time', () => {
  it('denies a shopper already inside a new code, in any store, until the visit ends', async () => {
    const s = await newShopper(cloud);
    const first = await scan(await codeFor(s.token));
    expect(first.body.decision).toBe('open');
    // The edge reported the payer in (a visit nothing reported on is resumed: gate-resume.test.ts).
    await cloud.ctx.db.query('update visit_members set entered_at = now() where visit_id = $1', [
      first.body.visitId,
    ]);
    const inside = await scan(await codeFor(s.token));
    expect(inside.body).toMatchObject({ decision: 'deny', reason: 'already_inside' });
    expect(inside.body.message).toMatch(/already/);
    expect((await scan(await codeFor(s.token), 'h-1', otherStoreGate)).body).toMatchObject({
      decision: 'deny',
      reason: 'already_inside',
    });
    expect(await visitsOf(s.id)).toEqual([{ id: first.body.visitId, status: 'open', holds: 1 }]);
    await cloud.ctx.db.query("update visits set status = 'closed' where id = $1", [first.body.visitId]);
    expect((await scan(await codeFor(s.token))).body.decision).toBe('open');
    await cloud.ctx.db.query("update visits set status = 'closed' where payer_id = $1", [s.id]);
  });

  it('lets in one of two codes of one shopper scanned at the same moment in two stores', async () => {
    for (let round = 0; round < 3; round++) {
      const s = await newShopper(cloud);
      const codes = [await codeFor(s.token), await codeFor(s.token)];
      const both = await Promise.all([scan(codes[0]!, 'gate-1'), scan(codes[1]!, 'h-1', otherStoreGate)]);
      expect(both.map((r) => r.body.decision).sort()).toEqual(['deny', 'open']);
      expect(both.find((r) => r.body.decision === 'deny')!.body.reason).toBe('already_inside');
      await gateIdle(cloud.ctx.gate);
      const visits = await visitsOf(s.id);
      expect(visits).toEqual([
        { id: both.find((r) => r.body.decision === 'open')!.body.visitId, status: 'open', holds: 1 },
      ]);
      await cloud.ctx.db.query("update visits set status = 'closed' where payer_id = $1", [s.id]);
    }
  });
});

describe("an opening's decision row", () => {
  it('is written with the admission, before the hold is answered', async () => {
    const s = await newShopper(cloud);
    const real = cloud.ctx.provider;
    let answer: (() => void) | null = null;
    const slow: PaymentProvider = {
      ...real,
      authorise: async (r) => {
        const outcome: ProviderOutcome = await real.authorise(r);
        await new Promise<void>((resolve) => {
          answer = resolve;
        });
        return outcome;
      },
    };
    const deps = { ...cloud.ctx.gate, provider: slow };
    const qr = await codeFor(s.token);
    const r = await decideScan(deps, { storeId: 'west', gateId: 'g-slow', qr });
    expect(r.decision).toBe('open');
    const visitId = r.decision === 'open' ? r.visitId : '';
    // Were the process killed now, the row would already be there.
    const before = await cloud.ctx.db.query(
      'select decision, gate_id, shopper_id, latency_ms from gate_decisions where visit_id = $1',
      [visitId],
    );
    expect(before.rows).toEqual([
      { decision: 'open', gate_id: 'g-slow', shopper_id: s.id, latency_ms: null },
    ]);
    const until = Date.now() + 5000;
    while (!answer && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
    (answer as unknown as () => void)();
    await gateIdle(deps);
    const after = await cloud.ctx.db.query(
      'select count(*)::int as n, bool_and(latency_ms > 0) as timed from gate_decisions where visit_id = $1',
      [visitId],
    );
    expect(after.rows[0]).toEqual({ n: 1, timed: true });
    await cloud.ctx.db.query("update visits set status = 'closed' where payer_id = $1", [s.id]);
  });
});
