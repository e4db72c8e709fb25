/**
 * The whole loop on a short recording (test/support/edge-e2e.ts): the simulator records a few
 * shoppers who sign up, get their codes and enter through a gate the cloud decides at; the edge
 * (`npm run edge -- --replay`, its own process, a copy of the recording without its truth) turns the
 * traffic and frames into reports to the cloud; every visit's receipt must be exactly its true cart.
 * Then the same with the edge killed mid-visit and restarted, and with the cloud down for a minute
 * while the shoppers shop: the same receipts, every report stored once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCloud } from './support/cloud.ts';
import {
  cloudFor,
  expectEachReportOnce,
  expectTrueReceipts,
  type RecordedStore,
  recordStore,
  startEdge,
} from './support/edge-e2e.ts';

let store: RecordedStore;
const clouds: TestCloud[] = [];
const states = mkdtempSync(join(tmpdir(), 'walkout-edge-state-'));

beforeAll(async () => {
  store = await recordStore('edge_e2e');
}, 240_000);

afterAll(async () => {
  for (const c of clouds) await c.stop().catch(() => {});
  await store?.close();
  if (!process.env.KEEP_E2E) rmSync(states, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('edge and cloud on a recorded store', () => {
  it('gives every shopper who walked out exactly their true cart', async () => {
    const { cloud, edge } = await cloudFor(store, 'edge_e2e_plain');
    clouds.push(cloud);
    const run = startEdge({ store, grpcAddress: cloud.grpcAddress, edge, stateDir: join(states, 'plain') });
    const { code, output } = await run.exited;
    expect(code, output.slice(-2000)).toBe(0);
    await expectTrueReceipts(cloud, store);
    await expectEachReportOnce(cloud, edge.id);
  }, 480_000);

  it('gives the same receipts when the edge is killed mid-visit and restarted', async () => {
    const { cloud, edge } = await cloudFor(store, 'edge_e2e_kill');
    clouds.push(cloud);
    const stateDir = join(states, 'kill');
    const first = startEdge({ store, grpcAddress: cloud.grpcAddress, edge, stateDir });
    // Killed once the cloud holds a cart line of a visit still open: the edge holds that visit,
    // its cart and its shopper's track in memory, and more of its cart is to come.
    let midVisit = false;
    while (!midVisit && first.child.exitCode === null) {
      const open = await cloud.ctx.db.query(
        `select 1 from cart_events c join visits v on v.id = c.visit_id
         where c.device_id = $1 and v.closed_seq is null limit 1`,
        [edge.id],
      );
      midVisit = (open.rowCount ?? 0) > 0;
      if (!midVisit) await sleep(100);
    }
    expect(midVisit, 'the edge reached a visit with a cart line before it ended').toBe(true);
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    expect(killed.code).toBeNull();
    const second = startEdge({ store, grpcAddress: cloud.grpcAddress, edge, stateDir, logLevel: 'info' });
    const { code, output } = await second.exited;
    expect(code, output.slice(-2000)).toBe(0);
    expect(output).toContain('state restored');
    await expectTrueReceipts(cloud, store);
    await expectEachReportOnce(cloud, edge.id);
  }, 480_000);

  it('gives the same receipts when the cloud is down for a minute while the shoppers shop', async () => {
    const { cloud, edge } = await cloudFor(store, 'edge_e2e_outage');
    clouds.push(cloud);
    // Down from before the edge starts until a minute later: the edge replays the store meanwhile
    // (its reports wait in the outbox), and the cloud comes back on its ports and database.
    const down = await cloud.down();
    clouds.splice(clouds.indexOf(cloud), 1);
    const run = startEdge({ store, grpcAddress: cloud.grpcAddress, edge, stateDir: join(states, 'outage') });
    const downMs = 60_000;
    const until = Date.now() + downMs;
    while (Date.now() < until && run.child.exitCode === null) await sleep(200);
    // The edge was still at work while the cloud was away (else this were a late start, not an outage).
    expect(run.child.exitCode).toBeNull();
    const back = await down.up();
    clouds.push(back);
    const { code, output } = await run.exited;
    expect(code, output.slice(-2000)).toBe(0);
    await expectTrueReceipts(back, store);
    await expectEachReportOnce(back, edge.id);
  }, 480_000);
});
