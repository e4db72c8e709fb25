/**
 * The whole loop on a short recording: the simulator records a few shoppers who sign up, get their
 * codes and enter through a gate the cloud decides at; the edge (`npm run edge -- --replay`, its own
 * process, a copy of the recording without its truth) turns the traffic and frames into reports to
 * the same cloud; every visit's receipt must be exactly its true cart. The same run writes its
 * tracks as MOTChallenge files (`--mot`) and keeps the evidence of every cart line under its state
 * directory: both are checked here rather than in a second replay, which would double the minutes
 * of detection this test costs.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCatalog } from '../cloud/stores/catalog.ts';
import { createDevice, createStore } from '../cloud/stores/devices.ts';
import { loadCatalog, loadLayout } from '../proto/index.ts';
import { startTestCloud, type TestCloud } from './support/cloud.ts';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const ref = join(root, 'proto/stores/reference');
const catalog = loadCatalog(join(ref, 'catalog.json'));
const layout = loadLayout(join(ref, 'layout.json'), catalog);

let cloud: TestCloud;
let base: string;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'walkout-edge-e2e-'));
  cloud = await startTestCloud('edge_e2e');
  await createStore(cloud.ctx.db, { id: layout.storeId, name: layout.name });
  // The simulated store's clock starts on 2026-01-05, and visits are priced at their close in it.
  await importCatalog(cloud.ctx.db, layout.storeId, catalog, new Date(0));
}, 60_000);

afterAll(async () => {
  await cloud?.stop();
  if (!process.env.KEEP_E2E) rmSync(base, { recursive: true, force: true });
});

describe('edge and cloud on a recorded store', () => {
  it('gives every shopper who walked out exactly their true cart', async () => {
    const gate = await createDevice(cloud.ctx.db, layout.storeId, 'gate', {
      gateIds: layout.gates.map((g) => g.id),
    });
    const edge = await createDevice(cloud.ctx.db, layout.storeId, 'edge');
    // Cameras at 5 frames a second, every one of which the edge detects: a small recording.
    const fast = { ...layout, cameras: layout.cameras.map((c) => ({ ...c, fps: 5 })) };
    writeFileSync(join(base, 'layout.json'), JSON.stringify(fast));
    writeFileSync(
      join(base, 'scenario.json'),
      JSON.stringify({
        name: 'edge-e2e',
        description: 'A few shoppers alone, a few items each, some put back.',
        arrivals: { shoppersPerHour: 150, maxInStore: 3, groupProbability: 0 },
        behaviour: { itemsPerVisit: { mean: 2, max: 3 }, putBackProbability: 0.2, misplacedProbability: 0 },
      }),
    );
    const rec = join(base, 'rec');
    await run(
      'node',
      [
        ...['--import', 'tsx', 'simulator/cli/sim.ts', '--no-progress'],
        ...['--scenario', join(base, 'scenario.json'), '--seed', '11', '--minutes', '1'],
        ...['--layout', join(base, 'layout.json'), '--catalog', join(ref, 'catalog.json')],
        ...['--record', rec, '--out', rec, '--cloud', cloud.httpUrl],
      ],
      {
        cwd: root,
        env: { ...process.env, LOG_LEVEL: 'warn', WALKOUT_GATE_CREDENTIALS: `${gate.id}:${gate.secret}` },
      },
    );
    // The edge gets the recording without its truth.
    const replay = join(base, 'replay');
    cpSync(rec, replay, { recursive: true, filter: (src) => !src.startsWith(join(rec, 'truth')) });
    const edgeRun = await run(
      'node',
      [
        ...['--import', 'tsx', 'edge/cli/main.ts', '--store', layout.storeId, '--replay', replay],
        ...['--cloud', cloud.grpcAddress, '--state', join(base, 'state'), '--detect-fps', '5'],
        ...['--mot', join(base, 'mot')],
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          LOG_LEVEL: process.env.KEEP_E2E ? 'info' : 'warn',
          WALKOUT_EDGE_CREDENTIALS: `${edge.id}:${edge.secret}`,
        },
      },
    );
    if (process.env.KEEP_E2E) writeFileSync(join(base, 'edge.log'), edgeRun.stdout + edgeRun.stderr);
    // The truth's visits, by the cloud visit the gate announced for their code.
    const truth = JSON.parse(readFileSync(join(rec, 'truth', 'visits.json'), 'utf8')) as {
      qr: string;
      kind: string;
      closedMs: number | null;
      cart: { sku: string; quantity: number }[];
    }[];
    const messages = readFileSync(join(rec, 'mqtt.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('/gates/'))
      .map((l) => JSON.parse(JSON.parse(l).payload));
    const codeOf = new Map(messages.filter((m) => m.qr).map((m) => [m.scanId, m.qr]));
    const visitOf = new Map(messages.filter((m) => m.visitId).map((m) => [codeOf.get(m.scanId), m.visitId]));
    const shoppers = truth.filter((v) => v.kind === 'shopper' && v.closedMs !== null);
    expect(shoppers.length).toBeGreaterThanOrEqual(2);
    for (const v of shoppers) {
      const visitId = visitOf.get(v.qr);
      expect(visitId, `the gate announced a visit for ${v.qr}`).toBeDefined();
      // Settlement follows the close; the receipt is there within moments.
      for (let i = 0; i < 100; i++) {
        const r = await cloud.ctx.db.query('select 1 from receipts where visit_id = $1', [visitId]);
        if (r.rowCount) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const { rows } = await cloud.ctx.db.query<{ sku: string; quantity: number }>(
        `select l.sku, l.quantity from receipts r join receipt_lines l on l.receipt_id = r.id
         where r.visit_id = $1 order by l.sku`,
        [visitId],
      );
      const totals = new Map<string, number>();
      for (const l of v.cart) totals.set(l.sku, (totals.get(l.sku) ?? 0) + l.quantity);
      const want = [...totals]
        .filter(([, quantity]) => quantity !== 0)
        .map(([sku, quantity]) => ({ sku, quantity }))
        .sort((a, b) => a.sku.localeCompare(b.sku));
      const state = await cloud.ctx.db.query(
        `select v.status, (select status from receipts where visit_id = v.id) as receipt,
                (select json_agg(json_build_object('sku', sku, 'q', quantity, 'c', confidence)) from cart_events
                  where visit_id = v.id) as events
         from visits v where v.id = $1`,
        [visitId],
      );
      expect(rows, `receipt of visit ${visitId}: ${JSON.stringify(state.rows[0])}`).toEqual(want);
    }
    checkMot(join(base, 'mot'));
    // Every cart line the cloud holds names a weight event whose evidence the edge kept, frames too.
    const { rows: refs } = await cloud.ctx.db.query<{ ref: string }>(
      'select distinct unnest(evidence) as ref from cart_events where store_id = $1',
      [layout.storeId],
    );
    expect(refs.length).toBeGreaterThan(0);
    const evidence = join(base, 'state', layout.storeId, 'evidence');
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
  }, 480_000);
});

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
