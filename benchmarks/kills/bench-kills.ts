/**
 * `npm run bench:kills`: the cloud, as its own process, SIGKILLed at random moments while gates
 * admit visits and edges report and close them; then a quiet period, and the invariants of
 * invariants.ts checked from the database and the sandbox provider's books. Writes
 * benchmarks/results/kills.json and kills.svg; exits 1 when any invariant is broken.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import pg from 'pg';
import { createPool, type Db } from '../../cloud/db/pool.ts';
import { importCatalog } from '../../cloud/stores/catalog.ts';
import { createDevice, createStore } from '../../cloud/stores/devices.ts';
import { createLogger } from '../../platform/log.ts';
import { resolveServices } from '../../platform/services.ts';
import { Catalog } from '../../proto/catalog/schema.ts';
import { loadJsonFile } from '../../proto/index.ts';
import { killsChart, type Sample } from './chart.ts';
import { type CloudChild, cloudChild } from './cloud-child.ts';
import { newGateStats, signUp } from './gate.ts';
import { checkInvariants, RULES } from './invariants.ts';
import { runLanes } from './lanes.ts';
import { between, parseOptions, root, say, seeded, sleep } from './options.ts';
import { pendingWork, progress, readRows } from './queries.ts';
import { DEFINITIONS, summarise } from './report.ts';

/**
 * The cloud's environment. OPEN_VISIT_TIMEOUT_MIN is the open-visit timeout (an open visit nothing
 * reported on ends `expired` and its hold is released; cloud/config.ts); a cloud without it
 * ignores it. --cloud-env NAME=VALUE adds or overrides any variable.
 */
function cloudEnv(o: ReturnType<typeof parseOptions>): Record<string, string> {
  return {
    SCRYPT_COST: '1024',
    ACCESS_TOKEN_TTL_S: '3600',
    SETTLE_SWEEP_MS: '1000',
    OPEN_VISIT_TIMEOUT_MIN: String(o.openVisitTimeoutS / 60),
    ...o.cloudEnv,
  };
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const rand = seeded(o.seed);
  const services = await resolveServices({ needDatabase: true, log: createLogger('bench-kills') });
  const server = new URL(services.databaseUrl!);
  const run = randomBytes(4).toString('hex');
  const dbName = `walkout_bench_kills_${run}`;
  const at = (name: string) => Object.assign(new URL(server.toString()), { pathname: `/${name}` }).toString();
  const admin = new pg.Client({ connectionString: at('postgres') });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
  const logFile = join(tmpdir(), `walkout-kills-${run}.log`);
  say(`bench:kills — ${o.kills} kills, seed ${o.seed}, database ${dbName}, cloud log ${logFile}`);

  const env = cloudEnv(o);
  const cloud = await cloudChild({ databaseUrl: at(dbName), env, logFile });
  let db: Db | null = null;
  try {
    const firstStartMs = await cloud.start();
    say(`  cloud up in ${firstStartMs} ms (http ${cloud.httpUrl}, grpc ${cloud.grpcAddress})`);
    db = createPool(at(dbName), { max: 3 });
    const catalog = loadJsonFile(join(root, 'proto/stores/reference/catalog.json'), Catalog);
    const skus = catalog.items.filter((i) => i.soldBy === 'unit').map((i) => i.sku);
    await createStore(db, { id: 'kills', name: 'kill test store', capacity: null });
    await importCatalog(db, 'kills', catalog, new Date(Date.now() - 3_600_000));
    const g = await createDevice(db, 'kills', 'gate');
    const gate = { auth: `Basic ${Buffer.from(`${g.id}:${g.secret}`).toString('base64')}` };
    const shoppers = [];
    for (let i = 0; i < o.shoppers; i++) shoppers.push(await signUp(cloud, run, i));
    say(`  ${o.shoppers} shoppers with a sandbox card; ${o.lanes} lanes (edge + gate) start`);

    let running = true;
    const stats = newGateStats();
    const { workload, done } = runLanes({
      cloud,
      db,
      storeId: 'kills',
      gate,
      shoppers,
      skus,
      options: o,
      rand: seeded(o.seed + 1),
      stats,
      running: () => running,
    });
    const t0 = Date.now();
    const samples: Sample[] = [];
    let kills = 0;
    const sampler = setInterval(() => {
      void progress(db!)
        .then((p) => samples.push({ t: (Date.now() - t0) / 1000, ...p, kills, unacked: workload.unacked() }))
        .catch(() => {});
    }, 1000);

    const restartMs: number[] = [];
    const bar = process.stderr.isTTY
      ? new SingleBar({
          format:
            '  kills {bar} {value}/{total} | visits {visits} | closed {closed} | unacked {unacked} | stalls {stalls}',
          hideCursor: true,
        })
      : null;
    bar?.start(o.kills, 0, { visits: 0, closed: 0, unacked: 0, stalls: 0 });
    for (let k = 1; k <= o.kills; k++) {
      await sleep(between(rand, o.minUpMs, o.maxUpMs));
      await cloud.kill();
      kills = k;
      restartMs.push(await restart(cloud));
      const line = {
        visits: workload.opened,
        closed: workload.closed,
        unacked: workload.unacked(),
        stalls: workload.stalls.length,
      };
      if (bar) bar.update(k, line);
      else
        say(
          `  kill ${k}/${o.kills}: visits ${line.visits}, closed ${line.closed}, unacked ${line.unacked}, ` +
            `stalls ${line.stalls}, back in ${restartMs.at(-1)} ms`,
        );
    }
    bar?.stop();

    say(`  kills done; ${o.calmS} s more of visits with the cloud up…`);
    await sleep(o.calmS * 1000);
    say('  the lanes finish their visits and wait for their acks…');
    running = false;
    await done;
    const quietStarted = Date.now();
    let quietEnd = 'time limit';
    for (;;) {
      const p = await pendingWork(db);
      if (p.open === 0 && p.closed === 0 && p.pendingHolds === 0) {
        quietEnd = 'nothing open, closed or pending';
        break;
      }
      if (Date.now() - quietStarted > o.quietMaxS * 1000) {
        quietEnd = `time limit (${p.open} open, ${p.closed} closed, ${p.pendingHolds} holds pending)`;
        break;
      }
      await sleep(1000);
    }
    const quietS = (Date.now() - quietStarted) / 1000;
    say(`  quiet period: ${quietS.toFixed(0)} s, ended by ${quietEnd}`);
    await sleep(1100);
    clearInterval(sampler);

    const rows = await readRows(db);
    const verdict = checkInvariants(rows, {
      sent: workload.sent,
      ackStalls: workload.stalls,
      ackRegressions: workload.ackRegressions,
    });
    const result = summarise({
      o,
      env,
      kills,
      rows,
      verdict,
      workload,
      restartMs: [firstStartMs, ...restartMs],
      warnings: cloud.warnings,
      quiet: { seconds: Math.round(quietS), endedBy: quietEnd },
      wallSeconds: Math.round((Date.now() - started) / 1000),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      definitions: DEFINITIONS,
    });
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'kills.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(
      join(o.out, 'kills.svg'),
      killsChart(samples, `${kills} SIGKILLs of the cloud, ${result.visits} visits (seed ${o.seed})`),
    );
    const broken = RULES.filter((r) => verdict[r] > 0);
    say(`  ${result.visits} visits, ${result.receiptsIssued} receipts, ${kills} kills`);
    for (const r of RULES) say(`  ${r.padEnd(22)} ${verdict[r]}${verdict[r] > 0 ? '   ✗' : ''}`);
    for (const r of broken) say(`    ${r}: ${verdict.examples[r]?.join('; ')}`);
    say(`  wrote ${join(o.out, 'kills.json')} and kills.svg`);
    return broken.length === 0 ? 0 : 1;
  } finally {
    await db?.end().catch(() => {});
    await cloud.stop();
    if (!o.keepDb) {
      const c = new pg.Client({ connectionString: at('postgres') });
      await c.connect();
      await c.query(`drop database if exists ${dbName} with (force)`);
      await c.end();
    }
    await services.close();
  }
}

/** Starts the cloud again at once; a start that fails (the machine is loaded) is tried again. */
async function restart(cloud: CloudChild): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await cloud.start();
    } catch (err) {
      if (attempt >= 3) throw err;
      say(`  restart failed (${(err as Error).message}); trying again`);
    }
  }
}

process.exitCode = await main();
// gRPC clients of quiet edges may keep the event loop alive; everything is written by now.
process.exit();
