/**
 * The whole loop on a short recording (test/support/edge-e2e.ts): the simulator records a few
 * shoppers who sign up, get their codes and enter through a gate the cloud decides at; the edge
 * (`npm run edge -- --replay`, its own process, a copy of the recording without its truth) turns the
 * traffic and frames into reports to the cloud; every visit's receipt must be exactly its true cart,
 * with the edge killed mid-visit and restarted, and with the cloud down for a minute while the
 * shoppers shop; every report stored once. A plain run is not repeated: the outage run asserts all
 * it would (its cloud is simply late), and each replay costs minutes of detection in CI. The outage
 * run also writes its tracks as MOTChallenge files (`--mot`) and keeps the evidence of every cart
 * line under its state directory: both are checked there.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCloud } from './support/cloud.ts';
import {
  cloudFor,
  expectEachReportOnce,
  expectTrueReceipts,
  layout,
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
    const stateDir = join(states, 'outage');
    const mot = join(states, 'outage-mot');
    const run = startEdge({ store, grpcAddress: cloud.grpcAddress, edge, stateDir, args: ['--mot', mot] });
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
    checkMot(mot);
    await checkEvidence(back, join(stateDir, layout.storeId, 'evidence'));
  }, 480_000);
});

/** Every cart line the cloud holds names a weight event whose evidence the edge kept, frames too. */
async function checkEvidence(cloud: TestCloud, evidence: string): Promise<void> {
  const { rows: refs } = await cloud.ctx.db.query<{ ref: string }>(
    'select distinct unnest(evidence) as ref from cart_events where store_id = $1',
    [layout.storeId],
  );
  expect(refs.length).toBeGreaterThan(0);
  const buckets = readdirSync(evidence);
  for (const { ref } of refs) {
    expect(ref).toMatch(/^weight:/);
    const eventId = ref.slice('weight:'.length);
    const dir = buckets.map((b) => join(evidence, b, eventId)).find((d) => existsSync(d));
    expect(dir, `evidence kept for ${ref}`).toBeDefined();
    const record = JSON.parse(readFileSync(join(dir!, 'record.json'), 'utf8')) as {
      eventId: string;
      resolutions: unknown[];
      frames: { cameraId: string; frameIndex: number; captureMs: number }[];
      window: { fromMs: number; toMs: number };
    };
    expect(record.eventId).toBe(eventId);
    expect(record.resolutions.length).toBeGreaterThan(0);
    // At 5 frames a second, a window of 3 s or more holds at least 10 frames of each camera seeing it.
    expect(record.frames.length).toBeGreaterThanOrEqual(10);
    for (const f of record.frames) {
      expect(f.captureMs).toBeGreaterThanOrEqual(record.window.fromMs);
      expect(f.captureMs).toBeLessThanOrEqual(record.window.toMs);
      const jpeg = readFileSync(join(dir!, f.cameraId, `${f.frameIndex}.jpg`));
      expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    }
  }
}

/** The edge's MOTChallenge files: 10 numeric fields a line, per camera boxes and floor points. */
function checkMot(dir: string): void {
  const origin = JSON.parse(readFileSync(join(dir, 'floor.json'), 'utf8')) as Record<string, number>;
  expect(origin).toMatchObject({ floorHz: 10, matchDistanceM: 0.5 });
  const fields = (file: string) =>
    readFileSync(join(dir, file), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => {
        const f = line.split(',').map(Number);
        expect(f, `${file}: ${line}`).toHaveLength(10);
        expect(f.every(Number.isFinite), `${file}: ${line}`).toBe(true);
        return f;
      });
  const floor = fields('floor.txt');
  expect(floor.length).toBeGreaterThan(100);
  for (const [frame, id, , , , , , x, y, z] of floor) {
    expect(Number.isInteger(frame) && frame! >= 1 && Number.isInteger(id)).toBe(true);
    // On the store's floor.
    expect([x! >= -1 && x! <= 30, y! >= -1 && y! <= 30, z]).toEqual([true, true, 0]);
  }
  const cameras = readdirSync(dir).filter((f) => f.endsWith('.txt') && f !== 'floor.txt');
  expect(cameras.length).toBeGreaterThan(0);
  for (const file of cameras) {
    expect(layout.cameras.map((c) => `${c.id}.txt`)).toContain(file);
    for (const [frame, id, left, top, w, h, conf, ...rest] of fields(file)) {
      expect(Number.isInteger(frame) && Number.isInteger(id)).toBe(true);
      expect([left! >= 0, top! >= 0, w! > 0, h! > 0, conf! > 0 && conf! <= 1]).toEqual([
        true,
        true,
        true,
        true,
        true,
      ]);
      expect(rest).toEqual([-1, -1, -1]);
    }
  }
}
