import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { connectEdge } from '../../test/support/edge-client.ts';
import { entryCode } from '../../test/support/gate.ts';
import { diesAfterAuthorise } from '../../test/support/payments.ts';
import { issueEntryCode } from '../entry/codes.ts';
import { decideScan, gateIdle } from '../entry/gate.ts';
import { createDevice, createStore } from '../stores/devices.ts';

let cloud: TestCloud;
let gate: string;
let edge: { id: string; secret: string };

beforeAll(async () => {
  // The sweep's own timer is kept out of the way: the test runs the expiry itself, on its clock.
  cloud = await startTestCloud('expire', { OPEN_VISIT_TIMEOUT_MIN: '30', SETTLE_SWEEP_MS: '3600000' });
  await createStore(cloud.ctx.db, { id: 'quay', name: 'Quay' });
  const g = await createDevice(cloud.ctx.db, 'quay', 'gate');
  gate = `${g.id}:${g.secret}`;
  edge = await createDevice(cloud.ctx.db, 'quay', 'edge');
});
afterAll(async () => cloud?.stop());

const codeFor = (token: string, companions = 0) => entryCode(cloud, token, companions);

async function admitted(token: string): Promise<string> {
  const r = await cloud.call('POST', '/v1/gates/g1/scans', {
    basic: gate,
    body: { qr: await codeFor(token) },
  });
  expect(r.body.decision).toBe('open');
  return r.body.visitId;
}

async function holdOf(visitId: string) {
  const { rows } = await cloud.ctx.db.query<{ status: string; provider_ref: string | null }>(
    'select status, provider_ref from payments where idempotency_key = $1',
    [`hold:${visitId}`],
  );
  return rows[0]!;
}

const opsOf = async (key: string) =>
  (
    await cloud.ctx.db.query('select count(*)::int as n from sandbox_operations where idempotency_key = $1', [
      key,
    ])
  ).rows[0].n;

describe('an open visit no edge ever reports on', () => {
  it("is left open while its store's edge has not been heard from since it opened", async () => {
    await createStore(cloud.ctx.db, { id: 'cove', name: 'Cove' });
    const g = await createDevice(cloud.ctx.db, 'cove', 'gate');
    const coveEdge = await createDevice(cloud.ctx.db, 'cove', 'edge');
    const before = connectEdge(cloud.grpcAddress, coveEdge.id, coveEdge.secret);
    await before.welcome();
    before.close();
    cloud.clock.advance(1000);
    const s = await newShopper(cloud);
    const r = await cloud.call('POST', '/v1/gates/g1/scans', {
      basic: `${g.id}:${g.secret}`,
      body: { qr: await codeFor(s.token) },
    });
    expect(r.body.decision).toBe('open');
    cloud.clock.advance(31 * 60_000);
    expect((await cloud.settlement.expire()).expired).not.toContain(r.body.visitId);
    // The edge comes back and still says nothing about it: now it expires.
    const after = connectEdge(cloud.grpcAddress, coveEdge.id, coveEdge.secret);
    await after.welcome();
    expect((await cloud.settlement.expire()).expired).toContain(r.body.visitId);
    after.close();
  });

  it('expires after OPEN_VISIT_TIMEOUT_MIN and its hold is released once; a visit reported on stays open', async () => {
    const quietShopper = await newShopper(cloud);
    const quiet = await admitted(quietShopper.token);
    const heard = await admitted((await newShopper(cloud)).token);
    // A hold the provider placed but whose answer died with the process: still `pending` here.
    const lostShopper = await newShopper(cloud);
    const real = cloud.ctx.provider;
    const dying = diesAfterAuthorise(real);
    const deps = { ...cloud.ctx.gate, provider: dying };
    const lost = await decideScan(deps, {
      storeId: 'quay',
      gateId: 'g1',
      qr: await codeFor(lostShopper.token),
    });
    const lostId = lost.decision === 'open' ? lost.visitId : '';
    await gateIdle(deps);
    await gateIdle(cloud.ctx.gate);
    expect((await holdOf(lostId)).status).toBe('pending');

    // The store's edge is heard from after these visits opened: its silence about two of them means
    // nobody came in.
    cloud.clock.advance(1000);
    const e = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    const s = (await e.welcome()).ackedSeq;
    e.send({
      seq: s + 1,
      timeMs: cloud.clock.ms,
      visit: { visitId: heard, kind: 'MEMBER_ENTERED', memberNo: 0 },
    });
    await e.waitForAck(s + 1);

    cloud.clock.advance(29 * 60_000);
    expect((await cloud.settlement.expire()).expired).toEqual([]);
    cloud.clock.advance(2 * 60_000);
    const run = await cloud.settlement.expire();
    expect(run.expired.sort()).toEqual([quiet, lostId].sort());
    expect(run.released).toBe(2);

    const statuses = await cloud.ctx.db.query('select id, status from visits where id = any($1)', [
      [quiet, heard, lostId],
    ]);
    expect(Object.fromEntries(statuses.rows.map((r) => [r.id, r.status]))).toEqual({
      [quiet]: 'expired',
      [lostId]: 'expired',
      [heard]: 'open',
    });
    for (const id of [quiet, lostId]) {
      const hold = await holdOf(id);
      expect(hold.status).toBe('succeeded');
      expect(await real.status(hold.provider_ref!)).toBe('released');
      expect(await opsOf(`hold:${id}`)).toBe(1);
      expect(await opsOf(`release:${id}`)).toBe(1);
    }
    const audited = await cloud.ctx.db.query(
      "select subject from audit_log where action = 'visit.expired' and subject = any($1) order by subject",
      [[quiet, lostId, heard]],
    );
    expect(audited.rows.map((r) => r.subject)).toEqual([quiet, lostId].sort());

    // Again, and again after a restart: nothing more is asked of the provider.
    expect(await cloud.settlement.expire()).toEqual({ expired: [], released: 0 });
    cloud = await cloud.restart();
    expect(await cloud.settlement.expire()).toEqual({ expired: [], released: 0 });
    for (const id of [quiet, lostId]) expect(await opsOf(`release:${id}`)).toBe(1);

    // A report arriving late is refused, and the shopper may enter again.
    const late = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    const s2 = (await late.welcome()).ackedSeq;
    late.send({
      seq: s2 + 1,
      timeMs: cloud.clock.ms,
      visit: { visitId: quiet, kind: 'MEMBER_ENTERED', memberNo: 0 },
    });
    const refused = await late.waitFor((m) => m.rejected?.seq === s2 + 1);
    expect(refused.rejected?.code).toBe('VISIT_NOT_OPEN');
    late.close();
    e.close();
    // (The app's access token has lapsed on this clock; the code is the one the app would show.)
    const code = await issueEntryCode(
      { shopperId: quietShopper.id, companions: 0 },
      cloud.ctx.keys.entry,
      cloud.clock.ms,
      30,
    );
    const again = await cloud.call('POST', '/v1/gates/g1/scans', { basic: gate, body: { qr: code.code } });
    expect(again.body).toMatchObject({ decision: 'open' });
    expect(again.body.visitId).not.toBe(quiet);
  });
});
