import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { issuedReceipt, newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { entryCode } from '../../test/support/gate.ts';
import { addDevice, setUpStore, type TestStore } from '../../test/support/store.ts';
import { EdgeLinkClient } from './client.ts';
import { loadLinkConfig } from './config.ts';
import { Outbox } from './outbox.ts';
import { spawnAppender } from './testing/child.ts';
import { shoppingTrip } from './testing/trip.ts';

let cloud: TestCloud;
let store: TestStore;
const dirs: string[] = [];
const log = createLogger('edge-link-test', { level: 'silent' });

beforeAll(async () => {
  cloud = await startTestCloud('edge-link');
  store = await setUpStore(cloud);
  // The store's raw test edge is not needed: each test links its own edge device.
  store.disconnect();
});
afterAll(async () => {
  await cloud?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A new edge device of the store and an outbox directory of its own. */
async function newEdge() {
  const e = await addDevice(cloud, 'reference', 'edge');
  const dir = mkdtempSync(join(tmpdir(), 'walkout-link-'));
  dirs.push(dir);
  return { id: e.id, credentials: `${e.id}:${e.secret}`, dir };
}

function link(edge: { credentials: string; dir: string }) {
  const cfg = loadLinkConfig(
    {
      address: cloud.grpcAddress,
      outboxDir: edge.dir,
      backoff: { initialMs: 50, maxMs: 300, factor: 2, jitter: 0.5 },
    },
    { WALKOUT_EDGE_CREDENTIALS: edge.credentials },
  );
  return EdgeLinkClient.start(cfg, { log });
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What the cloud stored from one edge: every seq with how often, and the evidence of its cart rows. */
async function storedBy(deviceId: string, visitId: string) {
  const seqs = await cloud.ctx.db.query<{ seq: number }>(
    'select seq from edge_events where device_id = $1 order by seq',
    [deviceId],
  );
  const carts = await cloud.ctx.db.query<{ evidence: string }>(
    'select evidence[1] as evidence from cart_events where visit_id = $1 order by seq',
    [visitId],
  );
  return { seqs: seqs.rows.map((r) => Number(r.seq)), evidence: carts.rows.map((r) => r.evidence) };
}

const linesOf = (receipt: { lines: { sku: string; quantity: number }[] }) =>
  receipt.lines.map(({ sku, quantity }) => ({ sku, quantity })).sort((a, b) => a.sku.localeCompare(b.sku));
const evidenceOf = (n: number) => Array.from({ length: n }, (_, i) => `ev-${i}`);

describe('the edge link client', () => {
  it('delivers a visit’s reports once each and in order, and the cloud prices them into the receipt', async () => {
    const edge = await newEdge();
    const { shopper, visitId } = await store.enter();
    const trip = shoppingTrip(visitId, 40);
    const client = link(edge);
    // Issued together, as a busy loop would: numbered in call order, stored in shared fsyncs.
    await Promise.all(
      [trip.entered, ...trip.carts, ...trip.leaving].map((r) => client.report(r, cloud.clock.ms)),
    );
    const receipt = await issuedReceipt(cloud, shopper.token);
    expect(linesOf(receipt)).toEqual(trip.expected);
    const stored = await storedBy(edge.id, visitId);
    expect(stored.seqs).toEqual(Array.from({ length: 43 }, (_, i) => i + 1));
    expect(stored.evidence).toEqual(evidenceOf(40));
    await until('the last ack', () => client.status().pending === 0);
    expect(client.status()).toMatchObject({ connected: true, lastSeq: 43, ackedSeq: 43 });
    expect(client.config()).toMatchObject({ isOpen: expect.any(Boolean), entryKeysUrl: '/v1/entry-keys' });
    await client.close();
  });

  it('loses and doubles nothing when the edge is SIGKILLed mid-visit and restarted on the same outbox', async () => {
    const edge = await newEdge();
    const { shopper, visitId } = await store.enter();
    const trip = shoppingTrip(visitId, 1000);
    const before = [trip.entered, ...trip.carts];
    const child = spawnAppender(
      { OUTBOX_DIR: edge.dir, LINK_ADDRESS: cloud.grpcAddress, WALKOUT_EDGE_CREDENTIALS: edge.credentials },
      before,
      cloud.clock.ms,
    );
    await child.confirmed(60);
    const confirmed = await child.kill();
    const client = link(edge);
    const { lastSeq } = client.status();
    // Every report the dead process had confirmed is in the outbox or at the cloud; one more may be.
    expect(lastSeq).toBeGreaterThanOrEqual(confirmed);
    expect(lastSeq).toBeLessThan(before.length);
    // The restarted loop reports the rest of the visit.
    await Promise.all(
      [...before.slice(lastSeq), ...trip.leaving].map((r) => client.report(r, cloud.clock.ms)),
    );
    const receipt = await issuedReceipt(cloud, shopper.token);
    expect(linesOf(receipt)).toEqual(trip.expected);
    const stored = await storedBy(edge.id, visitId);
    expect(stored.seqs).toEqual(Array.from({ length: 1003 }, (_, i) => i + 1));
    expect(stored.evidence).toEqual(evidenceOf(1000));
    await client.close();
  }, 19_000);

  it('keeps three shoppers’ reports while the cloud is down and gives the same receipts once it is back', async () => {
    const edge = await newEdge();
    const visits = [];
    for (const takes of [20, 25, 30]) {
      const { shopper, visitId } = await store.enter();
      visits.push({ shopper, visitId, trip: shoppingTrip(visitId, takes) });
    }
    const client = link(edge);
    for (const v of visits) await client.report(v.trip.entered, cloud.clock.ms);
    await until('the entries acknowledged', () => client.status().ackedSeq === 3);
    const down = await cloud.down();
    await until('the link to notice', () => !client.status().connected);
    // The shoppers shop on while the cloud is away, their reports interleaved, and all leave.
    const shopping = [];
    for (let i = 0; i < 30; i++) {
      for (const v of visits) {
        const r = v.trip.carts[i];
        if (r) shopping.push(client.report(r, cloud.clock.ms));
      }
    }
    for (const v of visits) for (const r of v.trip.leaving) shopping.push(client.report(r, cloud.clock.ms));
    await Promise.all(shopping);
    await new Promise((r) => setTimeout(r, 600));
    const total = 3 + 75 + 6;
    expect(client.status()).toMatchObject({ connected: false, lastSeq: total, ackedSeq: 3 });
    // It kept trying meanwhile.
    expect(client.status().attempt).toBeGreaterThan(1);
    cloud = await down.up();
    for (const v of visits) {
      expect(linesOf(await issuedReceipt(cloud, v.shopper.token))).toEqual(v.trip.expected);
      expect((await storedBy(edge.id, v.visitId)).evidence).toEqual(evidenceOf(v.trip.carts.length));
    }
    expect((await storedBy(edge.id, visits[0]!.visitId)).seqs).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    await until('the last ack', () => client.status().ackedSeq === total);
    await client.close();
  });

  it('asks the cloud about gate scans and answers null when it cannot', async () => {
    const edge = await newEdge();
    const client = link(edge);
    await until('the Welcome', () => client.status().connected);
    const shopper = await newShopper(cloud);
    const qr = await entryCode(cloud, shopper.token, 1);
    const open = await client.askGate({ scanId: 's-1', gateId: 'g1', qr }, 5000);
    expect(open).toEqual({ open: true, reason: '', visitId: expect.any(String), party: 2 });
    const visit = await cloud.ctx.db.query('select payer_id from visits where id = $1', [open!.visitId]);
    expect(visit.rows).toEqual([{ payer_id: shopper.id }]);
    // Another gate, the same code: used.
    expect(await client.askGate({ scanId: 's-2', gateId: 'g2', qr }, 5000)).toMatchObject({
      open: false,
      reason: 'replayed',
    });
    // No answer in time: null, and the late answer is dropped.
    const late = await entryCode(cloud, (await newShopper(cloud)).token);
    expect(await client.askGate({ scanId: 's-3', gateId: 'g1', qr: late }, 0)).toBeNull();
    await client.close();
    expect(await client.askGate({ scanId: 's-4', gateId: 'g1', qr }, 5000)).toBeNull();
  });

  it('counts a report the cloud refuses, and never sends it again', async () => {
    const edge = await newEdge();
    const client = link(edge);
    const nobody = randomUUID();
    await client.report(
      {
        body: 'cart',
        cart: {
          visitId: nobody,
          memberNo: 0,
          sku: 'cola-330',
          quantity: 1,
          confidence: 0.9,
          evidence: [],
          grams: 0,
        },
      },
      cloud.clock.ms,
    );
    await client.report(
      { body: 'health', health: { component: 'camera-1', status: 'ok', detail: '' } },
      cloud.clock.ms,
    );
    await until('the ack', () => client.status().ackedSeq === 2);
    expect(client.rejected()).toEqual({ VISIT_UNKNOWN: 1 });
    await client.close();
    // Reopened: nothing is waiting, so nothing is resent and refused again.
    const again = link(edge);
    await until('the Welcome', () => again.status().connected);
    await new Promise((r) => setTimeout(r, 200));
    expect(again.rejected()).toEqual({});
    expect(again.status()).toMatchObject({ lastSeq: 2, ackedSeq: 2, pending: 0 });
    const kept = await cloud.ctx.db.query('select seq, code from edge_rejections where device_id = $1', [
      edge.id,
    ]);
    expect(kept.rows).toEqual([{ seq: 1, code: 'VISIT_UNKNOWN' }]);
    await again.close();
  });

  it('numbers on above the cloud’s acknowledgement when the outbox was lost, and delivers what waited', async () => {
    const edge = await newEdge();
    const health = (component: string) =>
      ({ body: 'health', health: { component, status: 'ok', detail: '' } }) as const;
    const first = link(edge);
    for (const c of ['a', 'b', 'c']) await first.report(health(c), cloud.clock.ms);
    await until('the ack', () => first.status().ackedSeq === 3);
    await first.close();
    // The disk is replaced: a new outbox, where the loop stored two reports before the link was up.
    rmSync(edge.dir, { recursive: true, force: true });
    const fresh = Outbox.open(edge.dir);
    await fresh.append(health('d'), cloud.clock.ms);
    await fresh.append(health('e'), cloud.clock.ms);
    await fresh.close();
    const second = link(edge);
    await until('the renumbered reports acknowledged', () => second.status().ackedSeq === 5);
    await second.report(health('f'), cloud.clock.ms);
    await until('the ack', () => second.status().ackedSeq === 6);
    const { rows } = await cloud.ctx.db.query<{ component: string }>(
      'select component from edge_health where device_id = $1 order by time, component',
      [edge.id],
    );
    expect(rows.map((r) => r.component)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect((await storedBy(edge.id, randomUUID())).seqs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(second.rejected()).toEqual({});
    await second.close();
  });

  it('refuses a malformed report before it takes a seq', async () => {
    const edge = await newEdge();
    const client = link(edge);
    await expect(
      client.report({ body: 'shelf', shelf: { plateId: '', grams: 1, stable: true } }, cloud.clock.ms),
    ).rejects.toMatchObject({ code: 'PAYLOAD_INVALID' });
    expect(client.status().lastSeq).toBe(0);
    await client.close();
  });
});
