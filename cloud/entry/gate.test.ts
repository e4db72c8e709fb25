import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { entryCode } from '../../test/support/gate.ts';
import { metricValues } from '../../test/support/metrics.ts';
import { diesAfterAuthorise } from '../../test/support/payments.ts';
import { createDevice, createStore } from '../stores/devices.ts';
import { issueEntryCode } from './codes.ts';
import { decideScan, gateIdle } from './gate.ts';
import { HOLD_DECLINED_MESSAGE } from './hold.ts';
import { recoverHolds } from './recover.ts';

let cloud: TestCloud;
let gate: string;

beforeAll(async () => {
  cloud = await startTestCloud('gate', { PAYMENT_TIMEOUT_MS: '300', HOLD_AMOUNT_MINOR: '4000' });
  await createStore(cloud.ctx.db, { id: 'reference', name: 'Reference store', capacity: 6 });
  const d = await createDevice(cloud.ctx.db, 'reference', 'gate');
  gate = `${d.id}:${d.secret}`;
});
afterAll(async () => cloud?.stop());

const codeFor = (token: string, companions = 0) => entryCode(cloud, token, companions);

const scan = (qr: string, basic = gate, gateId = 'gate-1') =>
  cloud.call('POST', `/v1/gates/${gateId}/scans`, { basic, body: { qr } });

async function sandboxStatus(visitId: string): Promise<string> {
  const { rows } = await cloud.ctx.db.query<{ provider_ref: string }>(
    "select provider_ref from payments where visit_id = $1 and kind = 'hold'",
    [visitId],
  );
  return cloud.ctx.provider.status(rows[0]!.provider_ref);
}

describe('a gate scan', () => {
  it('opens for a fresh code, creates the visit with its members, then places the hold', async () => {
    const s = await newShopper(cloud);
    const r = await scan(await codeFor(s.token, 1));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ decision: 'open', party: 2 });
    await gateIdle(cloud.ctx.gate);
    const visit = await cloud.ctx.db.query('select status, payer_id, companions from visits where id = $1', [
      r.body.visitId,
    ]);
    expect(visit.rows[0]).toEqual({ status: 'open', payer_id: s.id, companions: 1 });
    const members = await cloud.ctx.db.query(
      'select role from visit_members where visit_id = $1 order by member_no',
      [r.body.visitId],
    );
    expect(members.rows.map((m) => m.role)).toEqual(['payer', 'companion']);
    const hold = await cloud.ctx.db.query('select amount_minor, status from payments where visit_id = $1', [
      r.body.visitId,
    ]);
    expect(hold.rows).toEqual([{ amount_minor: 4000, status: 'succeeded' }]);
    expect(await sandboxStatus(r.body.visitId)).toBe('held');
    const logged = await cloud.ctx.db.query(
      'select decision, shopper_id, latency_ms > 0 as timed from gate_decisions where visit_id = $1',
      [r.body.visitId],
    );
    expect(logged.rows).toEqual([{ decision: 'open', shopper_id: s.id, timed: true }]);
    await cloud.ctx.db.query("update visits set status = 'closed' where id = $1", [r.body.visitId]);
  });

  it('accepts a code once: a replay at another gate is denied, and of two concurrent scans exactly one opens', async () => {
    const s = await newShopper(cloud);
    const qr = await codeFor(s.token);
    expect((await scan(qr)).body.decision).toBe('open');
    expect((await scan(qr, gate, 'gate-2')).body).toMatchObject({ decision: 'deny', reason: 'replayed' });
    await cloud.ctx.db.query("update visits set status = 'closed' where payer_id = $1", [s.id]);

    const qr2 = await codeFor(s.token);
    const both = await Promise.all([scan(qr2, gate, 'gate-1'), scan(qr2, gate, 'gate-2')]);
    expect(both.map((r) => r.body.decision).sort()).toEqual(['deny', 'open']);
    expect(both.find((r) => r.body.decision === 'deny')!.body.reason).toBe('replayed');
    await cloud.ctx.db.query("update visits set status = 'closed' where payer_id = $1", [s.id]);
  });

  it('names every denial reason, and places no hold and no visit for any of them', async () => {
    const payments = async () =>
      Number((await cloud.ctx.db.query('select count(*) from payments')).rows[0].count);
    const visitsOpen = async () =>
      Number((await cloud.ctx.db.query("select count(*) from visits where status = 'open'")).rows[0].count);
    const before = { payments: await payments(), visits: await visitsOpen() };

    const ok = await newShopper(cloud);
    const deny = async (qr: string, reason: string) => {
      const r = await scan(qr);
      expect(r.body, reason).toMatchObject({ decision: 'deny', reason });
      expect(r.body.message.length).toBeGreaterThan(10);
    };

    await deny('not-a-code', 'bad_signature');
    const real = await codeFor(ok.token);
    await deny(`${real.slice(0, -4)}AAAA`, 'bad_signature');

    const stale = await codeFor(ok.token);
    cloud.clock.advance(31_000);
    await deny(stale, 'expired');

    const nobody = await issueEntryCode(
      { shopperId: '00000000-0000-4000-8000-000000000000', companions: 0 },
      cloud.ctx.keys.entry,
      cloud.clock.ms,
      30,
    );
    await deny(nobody.code, 'unknown_shopper');

    await deny(await codeFor((await newShopper(cloud, null)).token), 'no_payment_method');

    const owes = await newShopper(cloud);
    await cloud.ctx.db.query(
      "insert into balances_due (shopper_id, amount_minor, currency) values ($1, 1250, 'EUR')",
      [owes.id],
    );
    await deny(await codeFor(owes.token), 'unpaid_balance');

    await deny(await codeFor(ok.token, 9), 'capacity');

    await cloud.ctx.db.query("update stores set is_open = false where id = 'reference'");
    await deny(await codeFor(ok.token), 'store_closed');
    await cloud.ctx.db.query("update stores set is_open = true where id = 'reference'");

    expect({ payments: await payments(), visits: await visitsOpen() }).toEqual(before);
  });

  it('lets in a shopper whose bank declines the hold or does not answer, and tells them', async () => {
    const holdSeries = {
      declined: 'walkout_hold_seconds_count{outcome="declined"}',
      failed: 'walkout_hold_seconds_count{outcome="failed"}',
    };
    const holdsBefore = await metricValues(cloud, holdSeries);
    const declined = await newShopper(cloud, '4000000000000002');
    const slow = await newShopper(cloud, '4000000000006975');
    const heard: unknown[] = [];
    const unsubscribe = cloud.ctx.notices.subscribe(declined.id, (n) => heard.push(n));
    const a = await scan(await codeFor(declined.token));
    const b = await scan(await codeFor(slow.token));
    expect([a.body.decision, b.body.decision]).toEqual(['open', 'open']);
    await gateIdle(cloud.ctx.gate);
    const { rows } = await cloud.ctx.db.query(
      'select v.status, p.status as hold from visits v join payments p on p.visit_id = v.id where v.payer_id = any($1)',
      [[declined.id, slow.id]],
    );
    expect(rows.sort((x, y) => x.hold.localeCompare(y.hold))).toEqual([
      { status: 'open', hold: 'declined' },
      { status: 'open', hold: 'failed' },
    ]);
    const live = await cloud.call('GET', '/v1/me/visit', { token: declined.token });
    expect(live.body.visit).toMatchObject({ visitId: a.body.visitId, hold: 'declined' });
    const holdsAfter = await metricValues(cloud, holdSeries);
    expect({
      declined: holdsAfter.declined - holdsBefore.declined,
      failed: holdsAfter.failed - holdsBefore.failed,
    }).toEqual({ declined: 1, failed: 1 });
    const until = Date.now() + 5000;
    while (heard.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    unsubscribe();
    expect(heard).toEqual([
      {
        shopperId: declined.id,
        event: 'hold',
        id: a.body.visitId,
        data: { visitId: a.body.visitId, status: 'declined', message: HOLD_DECLINED_MESSAGE },
      },
    ]);
    await cloud.ctx.db.query("update visits set status = 'closed' where payer_id = any($1)", [
      [declined.id, slow.id],
    ]);
  });

  it('refuses unknown device credentials and malformed bodies with a named error, and keeps serving', async () => {
    const rejectedSeries = {
      badRequest: 'walkout_rejected_inputs_total{code="BAD_REQUEST",surface="http"}',
      unauthenticated: 'walkout_rejected_inputs_total{code="UNAUTHENTICATED",surface="http"}',
    };
    const rejectedBefore = await metricValues(cloud, rejectedSeries);
    const s = await newShopper(cloud);
    const qr = await codeFor(s.token);
    expect((await scan(qr, 'gate-nope:secret')).body.error.code).toBe('UNAUTHENTICATED');
    const bad = await cloud.call('POST', '/v1/gates/gate-1/scans', { basic: gate, raw: '{"qr": ' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BAD_REQUEST');
    const wrong = await cloud.call('POST', '/v1/gates/gate-1/scans', {
      basic: gate,
      body: { qr: 5, extra: true },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.issues.map((i: { field: string }) => i.field)).toContain('qr');
    expect((await scan(qr)).body.decision).toBe('open');
    const rejectedAfter = await metricValues(cloud, rejectedSeries);
    // Each refusal counted once: the unknown device, then the unreadable and the invalid body.
    expect({
      badRequest: rejectedAfter.badRequest - rejectedBefore.badRequest,
      unauthenticated: rejectedAfter.unauthenticated - rejectedBefore.unauthenticated,
    }).toEqual({ badRequest: 2, unauthenticated: 1 });
  });

  it('admits a burst of scans at a store without a capacity, each to its own visit, one code once', async () => {
    await createStore(cloud.ctx.db, { id: 'burst', name: 'Burst' });
    const d = await createDevice(cloud.ctx.db, 'burst', 'gate');
    const shoppers = await Promise.all(Array.from({ length: 24 }, () => newShopper(cloud)));
    const codes = await Promise.all(shoppers.map((s, i) => codeFor(s.token, i % 3)));
    // Scanned together, so they share the admission's statements; the first code twice, the
    // second time at a gate that did not open for it.
    const results = await Promise.all(
      [...codes, codes[0]!].map((qr, i) =>
        scan(qr, `${d.id}:${d.secret}`, i < codes.length ? `gate-${i % 4}` : 'gate-other'),
      ),
    );
    const opened = results.filter((r) => r.body.decision === 'open');
    expect(opened).toHaveLength(24);
    await gateIdle(cloud.ctx.gate);
    expect(results.filter((r) => r.body.reason === 'replayed')).toHaveLength(1);
    const visits = await cloud.ctx.db.query<{
      payer_id: string;
      companions: number;
      members: number;
      hold: string;
    }>(
      `select v.payer_id, v.companions, (select count(*)::int from visit_members m where m.visit_id = v.id) as members,
         (select status from payments p where p.visit_id = v.id and p.kind = 'hold') as hold
       from visits v where v.store_id = 'burst' and v.status = 'open'`,
    );
    const byPayer = new Map(visits.rows.map((v) => [v.payer_id, v]));
    shoppers.forEach((s, i) => {
      expect(byPayer.get(s.id)).toEqual({
        payer_id: s.id,
        companions: i % 3,
        members: 1 + (i % 3),
        hold: 'succeeded',
      });
    });
  });

  it('never lets more in than the capacity when gates scan at the same moment', async () => {
    await createStore(cloud.ctx.db, { id: 'tiny', name: 'Tiny', capacity: 3 });
    const d = await createDevice(cloud.ctx.db, 'tiny', 'gate');
    const shoppers = await Promise.all(Array.from({ length: 6 }, () => newShopper(cloud)));
    const codes = await Promise.all(shoppers.map((s) => codeFor(s.token)));
    const results = await Promise.all(codes.map((qr, i) => scan(qr, `${d.id}:${d.secret}`, `gate-${i}`)));
    const decisions = results.map((r) => (r.body.decision === 'open' ? 'open' : r.body.reason)).sort();
    expect(decisions).toEqual(['capacity', 'capacity', 'capacity', 'open', 'open', 'open']);
  });

  it('after a restart, asks again for a hold the process died before recording, and restores its decision row', async () => {
    const s = await newShopper(cloud);
    const qr = await codeFor(s.token);
    const real = cloud.ctx.provider;
    const dying = diesAfterAuthorise(real);
    const deps = { ...cloud.ctx.gate, provider: dying };
    const r = await decideScan(deps, { storeId: 'reference', gateId: 'g', qr });
    expect(r.decision).toBe('open');
    await gateIdle(deps);
    const visitId = r.decision === 'open' ? r.visitId : '';
    const hold = () =>
      cloud.ctx.db.query('select status, provider_ref from payments where idempotency_key = $1', [
        `hold:${visitId}`,
      ]);
    expect((await hold()).rows[0]).toEqual({ status: 'pending', provider_ref: null });
    // A process that died a moment earlier would not have written the decision's row either.
    await cloud.ctx.db.query('delete from gate_decisions where visit_id = $1', [visitId]);

    const answered = await recoverHolds(
      cloud.ctx.db,
      real,
      createLogger('recover-test'),
      new Date(cloud.clock.ms + 1000),
    );
    expect(answered).toBeGreaterThanOrEqual(1);
    const after = (await hold()).rows[0];
    expect(after.status).toBe('succeeded');
    expect(await sandboxStatus(visitId)).toBe('held');
    const ops = await cloud.ctx.db.query(
      'select count(*)::int as n from sandbox_operations where idempotency_key = $1',
      [`hold:${visitId}`],
    );
    expect(ops.rows[0].n).toBe(1);
    const logged = await cloud.ctx.db.query(
      'select decision, gate_id, latency_ms from gate_decisions where visit_id = $1',
      [visitId],
    );
    expect(logged.rows).toEqual([{ decision: 'open', gate_id: 'g', latency_ms: null }]);
    expect((await scan(qr)).body).toMatchObject({ decision: 'deny', reason: 'replayed' });
  });
});
