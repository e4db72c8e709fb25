import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { connectEdge } from '../../test/support/edge-client.ts';
import { createDevice, createStore } from '../stores/devices.ts';

/**
 * Two real streams of one edge: the edge drops its stream and opens another while the old one
 * still holds a queued batch (a slow flush makes the old stream store it after the new opened).
 */

const FLUSH_MS = 400;
let cloud: TestCloud;
let edge: { id: string; secret: string };
let gate: string;

beforeAll(async () => {
  cloud = await startTestCloud('link-streams', {}, { link: { flushMs: FLUSH_MS, batchSize: 500 } });
  await createStore(cloud.ctx.db, { id: 'dock', name: 'Dock' });
  edge = await createDevice(cloud.ctx.db, 'dock', 'edge');
  const g = await createDevice(cloud.ctx.db, 'dock', 'gate');
  gate = `${g.id}:${g.secret}`;
});
afterAll(async () => cloud?.stop());

describe('an edge reconnecting while its old stream still stores', () => {
  it('gets an ack past everything, the close included, and the visit settles', async () => {
    const s0 = await newShopper(cloud);
    const code = await cloud.call('POST', '/v1/me/entry-codes', { token: s0.token, body: { companions: 0 } });
    const opened = await cloud.call('POST', '/v1/gates/g1/scans', {
      basic: gate,
      body: { qr: code.body.code },
    });
    const visitId = opened.body.visitId as string;
    const shelf = (seq: number) => ({
      seq,
      timeMs: cloud.clock.ms,
      shelf: { plateId: 'p1', grams: 100 + seq, stable: true },
    });
    const queued = [
      { seq: 1, timeMs: cloud.clock.ms, visit: { visitId, kind: 'MEMBER_ENTERED', memberNo: 0 } },
      shelf(2),
      shelf(3),
      { seq: 4, timeMs: cloud.clock.ms, visit: { visitId, kind: 'VISIT_CLOSED', memberNo: 0 } },
    ];
    const a = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    expect((await a.welcome()).ackedSeq).toBe(0);
    for (const m of queued) a.send(m);
    // The edge gives up on the old stream before any ack and opens a new one at once.
    await new Promise((r) => setTimeout(r, 50));
    const b = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    expect((await b.welcome()).ackedSeq).toBe(0);
    // The old stream's batch is stored after the new stream opened.
    await new Promise((r) => setTimeout(r, FLUSH_MS + 200));
    const stored = await cloud.ctx.db.query(
      'select count(*)::int as n from edge_events where device_id = $1',
      [edge.id],
    );
    expect(stored.rows[0].n).toBe(4);
    // The edge resends everything past the Welcome's ack on the new stream, and goes on.
    for (const m of [...queued, shelf(5)]) b.send(m);
    await b.waitForAck(5, FLUSH_MS * 5);
    const until = Date.now() + 5000;
    let status = '';
    while (status !== 'settled' && Date.now() < until) {
      await cloud.settlement.sweep();
      await cloud.settlement.idle();
      status = (await cloud.ctx.db.query('select status from visits where id = $1', [visitId])).rows[0]
        .status;
    }
    expect(status).toBe('settled');
    a.close();
    b.close();
  });
});
