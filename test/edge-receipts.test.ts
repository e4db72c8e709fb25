/**
 * The whole loop on a short recording: the simulator records a few shoppers who sign up, get their
 * codes and enter through a gate the cloud decides at; the edge (`npm run edge -- --replay`, its own
 * process, a copy of the recording without its truth) turns the traffic and frames into reports to
 * the same cloud; every visit's receipt must be exactly its true cart.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  }, 480_000);
});
