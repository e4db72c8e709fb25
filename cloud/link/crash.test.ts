import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SequencedMessage } from '../../proto/grpc/edge-link.ts';
import { newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { connectEdge } from '../../test/support/edge-client.ts';
import { createDevice, createStore, type Device } from '../stores/devices.ts';
import { storeBatch } from './store.ts';

/**
 * The edge link under the failures the kill runs found: a stream's store outliving its ack (a
 * crash between the two), and an old stream still storing after the edge reconnected.
 */

let cloud: TestCloud;
let edge: Device & { secret: string };
let gate: string;

beforeAll(async () => {
  cloud = await startTestCloud('link-crash');
  await createStore(cloud.ctx.db, { id: 'east', name: 'East' });
  edge = await createDevice(cloud.ctx.db, 'east', 'edge');
  const g = await createDevice(cloud.ctx.db, 'east', 'gate');
  gate = `${g.id}:${g.secret}`;
});
afterAll(async () => cloud?.stop());

async function openVisit(): Promise<string> {
  const s = await newShopper(cloud);
  const code = await cloud.call('POST', '/v1/me/entry-codes', { token: s.token, body: { companions: 0 } });
  const r = await cloud.call('POST', '/v1/gates/g1/scans', { basic: gate, body: { qr: code.body.code } });
  expect(r.body.decision).toBe('open');
  return r.body.visitId;
}

const visitEvent = (
  seq: number,
  visitId: string,
  kind: 'MEMBER_ENTERED' | 'VISIT_CLOSED',
): SequencedMessage & { body: 'visit' } => ({
  body: 'visit',
  seq,
  timeMs: cloud.clock.ms,
  visit: { visitId, kind, memberNo: 0 },
});
const shelf = (seq: number): SequencedMessage => ({
  body: 'shelf',
  seq,
  timeMs: cloud.clock.ms,
  shelf: { plateId: 'p1', grams: 500, stable: true },
});
/** On the wire the body is implied by the field that is set. */
const wire = ({ body: _, ...m }: SequencedMessage) => m;

/** What a stream of this edge in this or another process stores, without saving its ack. */
const storedElsewhere = (batch: SequencedMessage[]) =>
  storeBatch(cloud.ctx.db, edge, batch, {
    entryKeys: cloud.ctx.gate.entryKeys,
    skewS: cloud.ctx.gate.skewS,
    nowMs: cloud.clock.ms,
  });

async function statusOf(visitId: string): Promise<string> {
  const { rows } = await cloud.ctx.db.query('select status from visits where id = $1', [visitId]);
  return rows[0].status;
}

async function settledBySweep(visitId: string): Promise<string> {
  const until = Date.now() + 5000;
  while ((await statusOf(visitId)) !== 'settled' && Date.now() < until) {
    await cloud.settlement.sweep();
    await cloud.settlement.idle();
    await new Promise((r) => setTimeout(r, 20));
  }
  return statusOf(visitId);
}

describe('the edge link after a crash or a reconnect', () => {
  it('saves the resume point at the Welcome, so a close stored before a crash settles with the edge quiet', async () => {
    const visitId = await openVisit();
    const a = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    const s = (await a.welcome()).ackedSeq;
    a.send(wire(visitEvent(s + 1, visitId, 'MEMBER_ENTERED')));
    await a.waitForAck(s + 1);
    a.close();
    // The process stored the close and died before saving the ack that covers it.
    await storedElsewhere([visitEvent(s + 2, visitId, 'VISIT_CLOSED')]);

    const b = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    expect((await b.welcome()).ackedSeq).toBe(s + 2);
    // The edge has nothing more to say; the resume point is in the database all the same.
    const saved = await cloud.ctx.db.query('select acked_seq from edge_links where device_id = $1', [
      edge.id,
    ]);
    expect(saved.rows[0].acked_seq).toBe(s + 2);
    expect(await settledBySweep(visitId)).toBe('settled');
    b.close();
  });

  it('acknowledges past what an old stream stored after the edge reconnected', async () => {
    const visitId = await openVisit();
    const a = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    const s = (await a.welcome()).ackedSeq;
    a.send(wire(visitEvent(s + 1, visitId, 'MEMBER_ENTERED')));
    await a.waitForAck(s + 1);

    const b = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    expect((await b.welcome()).ackedSeq).toBe(s + 1);
    // The old stream goes on storing what it had queued before the edge dropped it.
    const late = [shelf(s + 2), visitEvent(s + 3, visitId, 'VISIT_CLOSED')];
    expect((await storedElsewhere(late)).fresh.sort()).toEqual([s + 2, s + 3]);
    // The edge resends everything past the Welcome's ack on its new stream, then goes on.
    for (const m of [...late, shelf(s + 4)]) b.send(wire(m));
    await b.waitForAck(s + 4, 3000);
    const saved = await cloud.ctx.db.query('select acked_seq from edge_links where device_id = $1', [
      edge.id,
    ]);
    expect(saved.rows[0].acked_seq).toBe(s + 4);
    expect(await settledBySweep(visitId)).toBe('settled');
    const closes = await cloud.ctx.db.query(
      "select count(*)::int as n from receipts where visit_id = $1 and status = 'issued'",
      [visitId],
    );
    expect(closes.rows[0].n).toBe(1);
    a.close();
    b.close();
  });

  it('refuses, keeps and acknowledges a message holding a NUL, and the stream goes on', async () => {
    const c = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    const s = (await c.welcome()).ackedSeq;
    c.send({ seq: s + 1, timeMs: cloud.clock.ms, shelf: { plateId: 'p\u0000', grams: 1, stable: true } });
    c.send(wire(shelf(s + 2)));
    await c.waitForAck(s + 2, 3000);
    const refused = await c.waitFor((m) => m.rejected?.seq === s + 1);
    expect(refused.rejected).toMatchObject({ code: 'PAYLOAD_INVALID' });
    expect(refused.rejected?.reason).toMatch(/NUL/);
    const kept = await cloud.ctx.db.query(
      'select code, message->' +
        "'shelf'->>'plateId' as plate from edge_rejections where device_id = $1 and seq = $2",
      [edge.id, s + 1],
    );
    expect(kept.rows).toEqual([{ code: 'PAYLOAD_INVALID', plate: 'p\\u0000' }]);
    c.close();
  });

  it('refuses a device id the database could not read as UNAUTHENTICATED, with no database text', async () => {
    const nul = connectEdge(cloud.grpcAddress, `${edge.id}\u0000x`, edge.secret);
    const status = await nul.status;
    expect(status.code).toBe(16); // UNAUTHENTICATED
    expect(status.details).not.toMatch(/byte sequence|encoding|UTF8|0x00|syntax|relation/i);
    nul.close();
    // The stream of a good edge still works.
    const good = connectEdge(cloud.grpcAddress, edge.id, edge.secret);
    expect((await good.welcome()).storeId).toBe('east');
    good.close();
  });
});
