/**
 * The whole loop on a short recording, for the end-to-end tests (test/edge-*.test.ts): the
 * simulator records a few shoppers against a real cloud (the gates ask it), and each test runs the
 * edge (`npm run edge -- --replay`, its own process, a copy of the recording without its truth)
 * against its own copy of that cloud's database, then checks every visit's receipt against the
 * truth. One recording serves every test: it is the slow part.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { importCatalog } from '../../cloud/stores/catalog.ts';
import { createDevice, createStore } from '../../cloud/stores/devices.ts';
import { loadCatalog, loadLayout } from '../../proto/index.ts';
import { startTestCloud, startTestCloudOn, type TestCloud } from './cloud.ts';
import { copyDatabase, type TestDatabase } from './database.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const ref = join(root, 'proto/stores/reference');
const catalog = loadCatalog(join(ref, 'catalog.json'));
export const layout = loadLayout(join(ref, 'layout.json'), catalog);

export interface RecordedStore {
  base: string;
  /** The recording, truth and all. */
  rec: string;
  /** The same without truth/: what the edge gets. */
  replay: string;
  /** The cloud's database as the recording left it (visits open, nothing from an edge yet). */
  db: TestDatabase;
  close(): Promise<void>;
}

/**
 * Records a minute of a few shoppers alone (a few items each, some put back) with cameras at 5
 * frames a second, against a cloud that is then stopped, its database kept for copies.
 */
export async function recordStore(label: string): Promise<RecordedStore> {
  const base = mkdtempSync(join(tmpdir(), `walkout-${label}-`));
  const cloud = await startTestCloud(label);
  await createStore(cloud.ctx.db, { id: layout.storeId, name: layout.name });
  // The simulated store's clock starts on 2026-01-05, and visits are priced at their close in it.
  await importCatalog(cloud.ctx.db, layout.storeId, catalog, new Date(0));
  const gate = await createDevice(cloud.ctx.db, layout.storeId, 'gate', {
    gateIds: layout.gates.map((g) => g.id),
  });
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
  const replay = join(base, 'replay');
  cpSync(rec, replay, { recursive: true, filter: (src) => !src.startsWith(join(rec, 'truth')) });
  await cloud.down();
  return {
    base,
    rec,
    replay,
    db: cloud.db,
    close: async () => {
      await cloud.db.close();
      if (!process.env.KEEP_E2E) rmSync(base, { recursive: true, force: true });
    },
  };
}

/** A running cloud on a copy of the recording's database, and an edge device of its own on it. */
export async function cloudFor(
  store: RecordedStore,
  label: string,
): Promise<{ cloud: TestCloud; edge: { id: string; secret: string } }> {
  const cloud = await startTestCloudOn(await copyDatabase(store.db, label));
  const edge = await createDevice(cloud.ctx.db, layout.storeId, 'edge');
  return { cloud, edge };
}

export interface EdgeProcess {
  child: ChildProcess;
  /** Resolves when it exits, with its code (null when killed) and what it printed. */
  exited: Promise<{ code: number | null; output: string }>;
}

/** `npm run edge -- --replay` as its own process (node itself, so a SIGKILL reaches the edge). */
export function startEdge(opts: {
  store: RecordedStore;
  grpcAddress: string;
  edge: { id: string; secret: string };
  stateDir: string;
  logLevel?: string;
  /** More flags for the edge (e.g. --mot DIR). */
  args?: string[];
}): EdgeProcess {
  const child = spawn(
    process.execPath,
    [
      ...['--import', 'tsx', 'edge/cli/main.ts', '--store', layout.storeId, '--replay', opts.store.replay],
      ...['--cloud', opts.grpcAddress, '--state', opts.stateDir, '--detect-fps', '5'],
      ...(opts.args ?? []),
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        LOG_LEVEL: opts.logLevel ?? (process.env.KEEP_E2E ? 'info' : 'warn'),
        WALKOUT_EDGE_CREDENTIALS: `${opts.edge.id}:${opts.edge.secret}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (b: Buffer) => {
    output += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const exited = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('close', (code) => {
      if (process.env.KEEP_E2E) writeFileSync(join(opts.stateDir, `edge-${child.pid}.log`), output);
      resolve({ code, output });
    }),
  );
  return { child, exited };
}

/** Every shopper who walked out has a receipt of exactly their true cart. */
export async function expectTrueReceipts(cloud: TestCloud, store: RecordedStore): Promise<void> {
  // The truth's visits, by the cloud visit the gate announced for their code.
  const truth = JSON.parse(readFileSync(join(store.rec, 'truth', 'visits.json'), 'utf8')) as {
    qr: string;
    kind: string;
    closedMs: number | null;
    cart: { sku: string; quantity: number }[];
  }[];
  const messages = readFileSync(join(store.rec, 'mqtt.jsonl'), 'utf8')
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
}

/**
 * What the cloud stored from one edge: every report's seq once (1, 2, … with no gap: none lost),
 * and no weight event's cart line twice (a restarted edge making a report again under a new seq
 * would show as one).
 */
export async function expectEachReportOnce(cloud: TestCloud, deviceId: string): Promise<{ reports: number }> {
  const seqs = await cloud.ctx.db.query<{ seq: string }>(
    'select seq from edge_events where device_id = $1 order by seq',
    [deviceId],
  );
  const got = seqs.rows.map((r) => Number(r.seq));
  expect(got.length).toBeGreaterThan(0);
  expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
  const refused = await cloud.ctx.db.query('select seq, code from edge_rejections where device_id = $1', [
    deviceId,
  ]);
  expect(refused.rows).toEqual([]);
  const doubled = await cloud.ctx.db.query(
    `select visit_id, member_no, sku, evidence, count(*)::int as n from cart_events where device_id = $1
     group by visit_id, member_no, sku, evidence having count(*) > 1`,
    [deviceId],
  );
  expect(doubled.rows).toEqual([]);
  return { reports: got.length };
}
