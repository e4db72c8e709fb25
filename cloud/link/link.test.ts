import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEdgeLink } from '../../proto/grpc/edge-link.ts';
import { newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { connectEdge, type Received } from '../../test/support/edge-client.ts';
import { createDevice, createStore } from '../stores/devices.ts';

let cloud: TestCloud;
let edge: { id: string; secret: string };
let gate: string;

beforeAll(async () => {
  cloud = await startTestCloud('link');
  await createStore(cloud.ctx.db, { id: 'north', name: 'North' });
  await createStore(cloud.ctx.db, { id: 'south', name: 'South' });
  edge = await createDevice(cloud.ctx.db, 'north', 'edge');
  const g = await createDevice(cloud.ctx.db, 'north', 'gate');
  gate = `${g.id}:${g.secret}`;
});
afterAll(async () => cloud?.stop());

async function openVisit(storeGate = gate, companions = 0): Promise<string> {
  const s = await newShopper(cloud);
  const code = await cloud.call('POST', '/v1/me/entry-codes', { token: s.token, body: { companions } });
  const r = await cloud.call('POST', '/v1/gates/g1/scans', {
    basic: storeGate,
    body: { qr: code.body.code },
  });
  expect(r.body.decision).toBe('open');
  return r.body.visitId;
}

const cart = (seq: number, visitId: string, sku: string, quantity: number) => ({
  seq,
  timeMs: cloud.clock.ms,
  cart: { visitId, memberNo: 0, sku, quantity, confidence: 0.97, evidence: [`clip-${seq}`] },
});

async function cartOf(visitId: string) {
  const { rows } = await cloud.ctx.db.query<{ sku: string; qty: number }>(
    'select sku, sum(quantity)::int as qty from cart_events where visit_id = $1 group by sku order by sku',
    [visitId],
  );
  return rows;
}

describe('the edge link', () => {
  it('welcomes an edge with its store and resume point, stores each seq once and acknowledges cumulatively', async () => {
    const visitId = await openVisit();
    const a = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    expect(await a.welcome()).toEqual({ storeId: 'north', ackedSeq: 0 });
    a.send(cart(1, visitId, 'milk', 2));
    a.send(cart(2, visitId, 'bread', 1));
    a.send(cart(4, visitId, 'milk', -1)); // 3 is late
    await a.waitForAck(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.received.filter((m) => m.body === 'ack').at(-1)?.ack).toEqual({ seq: 2 });
    a.send(cart(3, visitId, 'eggs', 1));
    await a.waitForAck(4);
    a.close();

    // The edge reconnects and resends from before its last acknowledgement: nothing is applied twice.
    const b = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    expect((await b.welcome()).ackedSeq).toBe(4);
    for (const m of [
      cart(2, visitId, 'bread', 1),
      cart(3, visitId, 'eggs', 1),
      cart(4, visitId, 'milk', -1),
      cart(5, visitId, 'jam', 1),
    ]) {
      b.send(m);
    }
    await b.waitForAck(5);
    b.close();
    expect(await cartOf(visitId)).toEqual([
      { sku: 'bread', qty: 1 },
      { sku: 'eggs', qty: 1 },
      { sku: 'jam', qty: 1 },
      { sku: 'milk', qty: 1 },
    ]);
  });

  it('lets an edge speak for its own store only, and refuses bad messages by seq while the stream goes on', async () => {
    const southGate = await createDevice(cloud.ctx.db, 'south', 'gate');
    const theirs = await openVisit(`${southGate.id}:${southGate.secret}`);
    const ours = await openVisit();
    const c = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    const s = (await c.welcome()).ackedSeq;
    c.send(cart(s + 1, theirs, 'milk', 1));
    c.send({
      seq: s + 2,
      timeMs: cloud.clock.ms,
      cart: { visitId: 'not-a-uuid', memberNo: 0, sku: 'milk', quantity: 1, confidence: 2, evidence: [] },
    });
    c.send(cart(s + 3, ours, 'tea', 3));
    c.send({
      seq: s + 4,
      timeMs: cloud.clock.ms,
      visit: { visitId: ours, kind: 'MEMBER_ENTERED', memberNo: 3 },
    });
    await c.waitForAck(s + 4);
    const refused = c.received.flatMap((m) => (m.rejected ? [[m.rejected.seq, m.rejected.code]] : []));
    expect(refused.sort()).toEqual(
      [
        [s + 1, 'FORBIDDEN'],
        [s + 2, 'PAYLOAD_INVALID'],
        [s + 4, 'MEMBER_UNKNOWN'],
      ].sort(),
    );
    c.close();
    expect(await cartOf(theirs)).toEqual([]);
    expect(await cartOf(ours)).toEqual([{ sku: 'tea', qty: 3 }]);
    const kept = await cloud.ctx.db.query(
      'select seq, code from edge_rejections where device_id = $1 order by seq',
      [edge.id],
    );
    expect(kept.rows.map((r) => r.code)).toEqual(['FORBIDDEN', 'PAYLOAD_INVALID', 'MEMBER_UNKNOWN']);
  });

  it('refuses a stream without valid edge credentials', async () => {
    const bad = connectEdge(cloud.grpcAddress, edge.id, 'wrong');
    expect((await bad.status).code).toBe(16); // UNAUTHENTICATED
    const g = gate.split(':');
    const notEdge = connectEdge(cloud.grpcAddress, g[0]!, g[1]!);
    expect((await notEdge.status).code).toBe(16);
  });

  it('answers gate scans forwarded by the edge, and records members entering and leaving', async () => {
    const s = await newShopper(cloud);
    const code = await cloud.call('POST', '/v1/me/entry-codes', { token: s.token, body: { companions: 1 } });
    const c = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    const s0 = (await c.welcome()).ackedSeq;
    c.send({
      seq: 0,
      timeMs: cloud.clock.ms,
      gateScan: { scanId: 'scan-1', gateId: 'g2', qr: code.body.code },
    });
    c.send({
      seq: 0,
      timeMs: cloud.clock.ms,
      gateScan: { scanId: 'scan-2', gateId: 'g2', qr: code.body.code },
    });
    const decision = async (id: string) =>
      (await c.waitFor((m) => m.gateDecision?.scanId === id)).gateDecision!;
    const decisions = [await decision('scan-1'), await decision('scan-2')];
    expect(decisions.filter((d) => d.open)).toHaveLength(1);
    expect(decisions.find((d) => !d.open)?.reason).toBe('replayed');
    const visitId = decisions.find((d) => d.open)!.visitId;
    c.send({ seq: s0 + 1, timeMs: cloud.clock.ms, visit: { visitId, kind: 'MEMBER_ENTERED', memberNo: 0 } });
    c.send({ seq: s0 + 2, timeMs: cloud.clock.ms, visit: { visitId, kind: 'MEMBER_ENTERED', memberNo: 1 } });
    c.send({
      seq: s0 + 3,
      timeMs: cloud.clock.ms + 60_000,
      visit: { visitId, kind: 'MEMBER_EXITED', memberNo: 1 },
    });
    await c.waitForAck(s0 + 3);
    c.close();
    const members = await cloud.ctx.db.query(
      'select member_no, entered_at is not null as entered, exited_at is not null as exited from visit_members where visit_id = $1 order by 1',
      [visitId],
    );
    expect(members.rows).toEqual([
      { member_no: 0, entered: true, exited: false },
      { member_no: 1, entered: true, exited: true },
    ]);
  });

  it('refuses bytes that are not an EdgeMessage, counts them, and keeps the stream going', async () => {
    const real = loadEdgeLink().service.Connect!;
    const Raw = grpc.makeGenericClientConstructor(
      { Connect: { ...real, requestSerialize: (b: Buffer) => b } },
      'EdgeLink',
    );
    const client = new Raw(cloud.grpcAddress, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('authorization', `Basic ${Buffer.from(`${edge.id}:${edge.secret}`).toString('base64')}`);
    const call = (
      client as unknown as { Connect(m: grpc.Metadata): grpc.ClientDuplexStream<Buffer, Received> }
    ).Connect(md);
    const got: Received[] = [];
    call.on('data', (m) => got.push(m));
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 25));
    };
    await until(() => got.some((m) => m.welcome));
    const next = got.find((m) => m.welcome)!.welcome!.ackedSeq + 1;
    const visitId = await openVisit();
    call.write(Buffer.from([0xff, 0xff, 0xff, 0x01]));
    call.write(real.requestSerialize(cart(next, visitId, 'soap', 1)));
    await until(() => got.some((m) => m.ack?.seq === next));
    expect(got.find((m) => m.rejected)?.rejected).toMatchObject({ seq: 0, code: 'PAYLOAD_INVALID' });
    expect(got.some((m) => m.ack?.seq === next)).toBe(true);
    call.end();
    client.close();
    expect(await cartOf(visitId)).toEqual([{ sku: 'soap', qty: 1 }]);
    const metrics = { body: await cloud.metrics() };
    expect(metrics.body).toMatch(
      /walkout_rejected_inputs_total\{code="PAYLOAD_INVALID",surface="grpc"\} [2-9]/,
    );
  });
});
