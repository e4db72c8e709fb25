import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createPool, type Db } from '../../cloud/db/pool.ts';
import { importCatalog } from '../../cloud/stores/catalog.ts';
import { createDevice, createStore } from '../../cloud/stores/devices.ts';
import { createLogger } from '../../platform/log.ts';
import { resolveServices } from '../../platform/services.ts';
import { Catalog } from '../../proto/catalog/schema.ts';
import { loadJsonFile } from '../../proto/index.ts';
import { connectEdge } from '../../test/support/edge-client.ts';
import { appScenario } from './app-scenario.ts';
import {
  type Cloud,
  mapLimit,
  openVisit,
  setBaseUrl,
  signUpShopper,
  startCloudProcess,
} from './cloud-process.ts';
import { edgeScenario } from './edge-scenario.ts';
import { gateScenario } from './gate-scenario.ts';
import { findK6 } from './k6.ts';
import type { EdgeSpec } from './node-edge.ts';
import {
  argv,
  basic,
  EDGE,
  GATE,
  keepDb,
  LOAD_GATE,
  nodeEdge,
  only,
  RECEIPTS_PER_SHOPPER,
  root,
  SHOPPERS,
  say,
  sleep,
  VISITS_PER_EDGE,
} from './options.ts';
import { type Env, machine } from './report.ts';

async function main(): Promise<void> {
  const started = Date.now();
  say('k6 load tests of the cloud');
  const k6 = await findK6(say);
  say(`  ${k6.version} at ${k6.path}`);

  const log = createLogger('bench-k6');
  const services = await resolveServices({ needDatabase: true, log });
  const server = new URL(services.databaseUrl!);
  const run = randomBytes(4).toString('hex');
  const dbName = `walkout_bench_k6_${run}`;
  const adminUrl = Object.assign(new URL(server.toString()), { pathname: '/postgres' }).toString();
  const dbUrl = Object.assign(new URL(server.toString()), { pathname: `/${dbName}` }).toString();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const pgVersion = (await admin.query<{ v: string }>('select version() as v')).rows[0]?.v ?? 'unknown';
  await admin.end();
  say(`  database ${dbName} on ${server.host}${services.embedded.database ? ' (embedded)' : ''}`);

  const tmp = mkdtempSync(join(tmpdir(), 'walkout-k6-'));
  let cloud: Cloud | null = null;
  let db: Db | null = null;
  let ok = true;
  try {
    say('starting the cloud (cloud/main.ts) as its own process…');
    cloud = await startCloudProcess(dbUrl);
    setBaseUrl(cloud.httpUrl);
    say(`  http ${cloud.httpUrl}, grpc ${cloud.grpcAddress}, pid ${cloud.child.pid}`);
    // Named, so that the samples of pg_stat_activity can leave the driver's own sessions out.
    const driverUrl = new URL(dbUrl);
    driverUrl.searchParams.set('application_name', 'bench-k6-driver');
    db = createPool(driverUrl.toString(), { max: 4 });

    const catalog = loadJsonFile(join(root, 'proto/stores/reference/catalog.json'), Catalog);
    const skus = catalog.items.filter((i) => i.soldBy === 'unit').map((i) => i.sku);
    await createStore(db, { id: 'bench', name: 'k6 bench store', capacity: null });
    await importCatalog(db, 'bench', catalog, new Date(Date.now() - 3_600_000));
    const g = await createDevice(db, 'bench', 'gate');
    const gate = { id: g.id, auth: basic(g.id, g.secret) };
    const loadGates = [{ gateId: LOAD_GATE, auth: gate.auth, storeId: 'bench' }];
    for (let k = 2; k <= GATE.stores; k += 1) {
      const storeId = `bench-${k}`;
      await createStore(db, { id: storeId, name: `k6 bench store ${k}`, capacity: null });
      const d = await createDevice(db, storeId, 'gate');
      loadGates.push({ gateId: LOAD_GATE, auth: basic(d.id, d.secret), storeId });
    }
    const setupEdge = await createDevice(db, 'bench', 'edge');

    say(`creating ${SHOPPERS} shoppers through the API (sign-up, sandbox card 4242…)…`);
    const shoppers = await mapLimit(SHOPPERS, 16, (i) => signUpShopper(run, i));

    if (only.has('app')) {
      const visits = SHOPPERS * RECEIPTS_PER_SHOPPER;
      say(
        `giving every shopper ${RECEIPTS_PER_SHOPPER} issued receipts (${visits} visits through gate, edge and settlement)…`,
      );
      const edge = connectEdge(cloud.grpcAddress, setupEdge.id, setupEdge.secret);
      let seq = (await edge.welcome()).ackedSeq;
      await mapLimit(visits, 8, async (i) => {
        const visitId = await openVisit(shoppers[i % SHOPPERS]!, gate.auth, 'gate-setup');
        for (const [k, qty] of [
          [0, 2],
          [1, 1],
          [2, 1],
        ] as const) {
          edge.send({
            seq: ++seq,
            timeMs: Date.now(),
            cart: {
              visitId,
              memberNo: 0,
              sku: skus[(i * 3 + k) % skus.length],
              quantity: qty,
              confidence: 0.97,
              evidence: [`clip-${seq}`],
              grams: 0,
            },
          });
        }
        edge.send({ seq: ++seq, timeMs: Date.now(), visit: { visitId, kind: 'VISIT_CLOSED', memberNo: 0 } });
      });
      await edge.waitForAck(seq, 30_000);
      edge.close();
      const until = Date.now() + 60_000;
      for (;;) {
        const r = await db.query<{ n: number }>(
          "select count(*)::int as n from receipts where status = 'issued'",
        );
        if ((r.rows[0]?.n ?? 0) >= visits) break;
        if (Date.now() > until)
          throw new Error(`only ${r.rows[0]?.n} of ${visits} receipts were issued in 60 s`);
        await sleep(250);
      }
    }

    // One visit at a time: each open visit has a shopper of its own (k6's edges, then Node's).
    let nextShopper = 0;
    const edgeSpecs = async (count: number): Promise<EdgeSpec[]> => {
      const out: EdgeSpec[] = [];
      for (let e = 0; e < count; e += 1) {
        const d = await createDevice(db!, 'bench', 'edge');
        const first = nextShopper;
        nextShopper += VISITS_PER_EDGE;
        const visits = await mapLimit(VISITS_PER_EDGE, 4, (v) =>
          openVisit(shoppers[(first + v) % SHOPPERS]!, gate.auth, 'gate-setup'),
        );
        out.push({ id: d.id, auth: basic(d.id, d.secret), visits, skus });
      }
      return out;
    };
    let k6Edges: EdgeSpec[] = [];
    let nodeEdges: EdgeSpec[] = [];
    if (only.has('edge')) {
      say(
        `creating ${EDGE.edges} edge devices for k6` +
          (nodeEdge === 'never' ? '' : ` and ${EDGE.edges} for the Node driver`) +
          `, ${VISITS_PER_EDGE} open visits each…`,
      );
      k6Edges = await edgeSpecs(EDGE.edges);
      nodeEdges = nodeEdge === 'never' ? [] : await edgeSpecs(EDGE.edges);
    }

    const env: Env = {
      k6,
      db,
      cloud,
      tmp,
      run,
      shoppers,
      gate,
      loadGates,
      skus,
      dbName,
      common: {
        date: new Date().toISOString(),
        command: `npm run bench:k6${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
        machine: { ...machine(), k6: k6.version, postgres: pgVersion.split(',')[0] },
        cloud: {
          process: 'node --import tsx cloud/main.ts (one process, one event loop)',
          database: services.embedded.database ? 'embedded PostgreSQL' : 'PostgreSQL of DATABASE_URL',
          databaseConnection: new URL(services.databaseUrl!).searchParams.get('host')?.startsWith('/')
            ? 'Unix socket'
            : 'TCP',
          dbPoolSize: Number(process.env.DB_POOL_SIZE ?? 10),
          scryptCost: 1024,
        },
      },
    };
    if (only.has('gate')) ok = (await gateScenario(env)) && ok;
    if (only.has('app')) ok = (await appScenario(env)) && ok;
    if (only.has('edge')) ok = (await edgeScenario(env, k6Edges, nodeEdges)) && ok;
    if (cloud.warnings.length > 0) say(`the cloud logged ${cloud.warnings.length} warnings or errors`);
  } finally {
    await db?.end().catch(() => {});
    await cloud?.stop();
    rmSync(tmp, { recursive: true, force: true });
    if (!keepDb) {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${dbName} with (force)`);
      await c.end();
    } else say(`kept database ${dbName}`);
    await services.close();
  }
  say(
    `\ndone in ${Math.round((Date.now() - started) / 1000)} s; ${ok ? 'every threshold held' : 'a threshold FAILED'}`,
  );
  if (!ok) process.exitCode = 1;
}

await main();
