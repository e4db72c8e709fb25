/**
 * npm run bench:k6 [-- --only gate,app,edge --gate-rate 1000 --gate-seconds 20 --gate-stores 1
 *                     --app-rate 300 --app-seconds 20 --edge-rate 10000 --edge-seconds 20 --edges 4
 *                     --node-edge auto|always|never --codes key|api --shoppers 200 --keep-db --out DIR]
 *   → benchmarks/results/k6-{gate,app,edge}.json and k6-{gate,app,edge}-latency.svg
 *     (with --gate-stores N > 1: k6-gate-Nstores.json, the same scans spread over N stores)
 *
 * Load tests of the cloud with k6 (built with `go install` when it is not found):
 * 1. gate.js  POST /v1/gates/:gateId/scans, each scan with its own fresh entry code, at a constant
 *             arrival rate; every decision is counted, here and in the cloud's gate_decisions.
 * 2. app.js   POST /v1/me/entry-codes and GET /v1/me/receipts with shoppers' bearer tokens.
 * 3. edge.js  EdgeLink.Connect streams, one per edge device, cart events with contiguous seqs at a
 *             sustained rate; sent, acknowledged and stored (rows in cart_events) are compared.
 *             When k6 cannot drive the rate, the same load is driven from Node (@grpc/grpc-js).
 *
 * The cloud runs as its own process (what `npm run cloud` runs) on a fresh database of the
 * PostgreSQL server of DATABASE_URL (embedded PostgreSQL when unset); the store, gate and edge
 * devices are made with cloud/stores/devices.ts, shoppers through the public HTTP API.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createPool, type Db } from '../../cloud/db/pool.ts';
import { issueEntryCode } from '../../cloud/entry/codes.ts';
import { loadKeys } from '../../cloud/keys.ts';
import { importCatalog } from '../../cloud/stores/catalog.ts';
import { createDevice, createStore } from '../../cloud/stores/devices.ts';
import { createLogger } from '../../platform/log.ts';
import { resolveServices } from '../../platform/services.ts';
import { Catalog } from '../../proto/catalog/schema.ts';
import { loadJsonFile } from '../../proto/index.ts';
import { connectEdge } from '../../test/support/edge-client.ts';
import { summarize } from '../inference/stats.ts';
import { type Distribution, histogramChart } from '../lib/svg-histogram.ts';
import {
  CpuMeter,
  findK6,
  type K6Outcome,
  metricValue,
  postgresPids,
  readPoints,
  runK6,
  thresholds,
  trend,
} from './k6.ts';
import { type EdgeResult, type EdgeSpec, runNodeEdges } from './node-edge.ts';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
};
const num = (name: string, fallback: number) => {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};
const root = fileURLToPath(new URL('../../', import.meta.url));
const here = join(root, 'benchmarks/k6');
const resultsDir = resolve(arg('out', join(root, 'benchmarks/results')));
const only = new Set(arg('only', 'gate,app,edge').split(','));
const GATE = {
  rate: num('gate-rate', 1000),
  seconds: num('gate-seconds', 20),
  stores: num('gate-stores', 1),
  p99Ms: 50,
  maxFailed: 0.01,
};
/** The gate id the load uses in its URLs; setup scans use another, so decisions can be told apart. */
const LOAD_GATE = 'gate-load';
const APP = { rate: num('app-rate', 300), seconds: num('app-seconds', 20), p99Ms: 50 };
const EDGE = { rate: num('edge-rate', 10_000), seconds: num('edge-seconds', 20), edges: num('edges', 4) };
const nodeEdge = arg('node-edge', 'auto');
/** Where the gate's entry codes come from: signed here with the cloud's key, or fetched one by one. */
const CODES = arg('codes', 'key');
const ENTRY_CODE_TTL_S = 30;
const SHOPPERS = num('shoppers', 200);
const RECEIPTS_PER_SHOPPER = 2;
const VISITS_PER_EDGE = 8;
const keepDb = argv.includes('--keep-db');

const say = (line: string) => process.stderr.write(`${line}\n`);
const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

// ---------------------------------------------------------------------------------------------
// The cloud, as its own process

interface Cloud {
  child: ChildProcess;
  httpUrl: string;
  grpcAddress: string;
  warnings: string[];
  stop(): Promise<void>;
}

async function startCloudProcess(databaseUrl: string): Promise<Cloud> {
  // BENCH_CLOUD_NODE_ARGS: extra node flags for the cloud, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = (process.env.BENCH_CLOUD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...extra, '--import', 'tsx', join(root, 'cloud/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      HOST: '127.0.0.1',
      PORT: '0',
      GRPC_PORT: '0',
      // Sign-up is not measured here; the default cost would make creating shoppers the slow part.
      SCRYPT_COST: '1024',
      ENTRY_CODE_TTL_S: String(ENTRY_CODE_TTL_S),
      PAYMENT_PROVIDER: 'sandbox',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const warnings: string[] = [];
  const listening = new Promise<{ http: string; grpc: string }>((resolveListening, reject) => {
    child.once('exit', (code) => reject(new Error(`the cloud exited during start-up (code ${code})`)));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let rec: { level?: string; msg?: string; http?: string; grpc?: string } | null = null;
      try {
        rec = JSON.parse(line);
      } catch {
        say(`  [cloud] ${line}`);
        return;
      }
      if (rec?.msg === 'cloud listening' && rec.http && rec.grpc)
        resolveListening({ http: rec.http, grpc: rec.grpc });
      if (rec?.level === 'warn' || rec?.level === 'error') {
        warnings.push(line);
        if (warnings.length <= 5) say(`  [cloud] ${line.slice(0, 400)}`);
        else if (warnings.length === 6) say('  [cloud] … further warnings counted, not shown');
      }
    });
  });
  const where = await listening;
  return {
    child,
    httpUrl: where.http.replace('0.0.0.0', '127.0.0.1'),
    grpcAddress: where.grpc,
    warnings,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The public HTTP API

let baseUrl = '';

async function api<T = unknown>(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; auth?: string } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.auth) headers.authorization = opts.auth;
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Runs fn over 0..n-1 with at most `limit` at once; results in index order. */
async function mapLimit<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

interface Shopper {
  id: string;
  token: string;
}

async function signUpShopper(run: string, i: number): Promise<Shopper> {
  const up = await api<{ shopperId: string; accessToken: string }>('POST', '/v1/shoppers', {
    body: { email: `k6-${run}-${i}@example.test`, password: 'correct horse battery', name: `Shopper ${i}` },
  });
  if (up.status !== 201) throw new Error(`sign-up failed: ${up.status} ${JSON.stringify(up.body)}`);
  const card = await api<{ token: string }>('POST', '/sandbox/v1/tokens', {
    body: { number: '4242424242424242', expMonth: 12, expYear: 2099, cvc: '123' },
  });
  const added = await api('POST', '/v1/me/payment-methods', {
    token: up.body.accessToken,
    body: { token: card.body.token },
  });
  if (added.status !== 201) throw new Error(`adding a card failed: ${JSON.stringify(added.body)}`);
  return { id: up.body.shopperId, token: up.body.accessToken };
}

async function entryCode(token: string): Promise<string> {
  const r = await api<{ code: string }>('POST', '/v1/me/entry-codes', { token, body: { companions: 0 } });
  if (r.status !== 201) throw new Error(`entry code refused: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.code;
}

async function openVisit(shopper: Shopper, gateAuth: string, gateId: string): Promise<string> {
  const r = await api<{ decision: string; visitId?: string; reason?: string }>(
    'POST',
    `/v1/gates/${gateId}/scans`,
    { auth: gateAuth, body: { qr: await entryCode(shopper.token) } },
  );
  if (r.body.decision !== 'open' || !r.body.visitId)
    throw new Error(`setup scan denied: ${JSON.stringify(r.body)}`);
  return r.body.visitId;
}

// ---------------------------------------------------------------------------------------------
// Results

function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGB: round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: loadavg().map((v) => round(v, 2)),
  };
}

function write(name: string, result: unknown, chart?: { title: string; panels: Distribution[] }): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const svg = chart?.panels.some((p) => p.values.length > 0) ?? false;
  if (chart && svg) {
    writeFileSync(
      join(resultsDir, `${name}-latency.svg`),
      histogramChart({ title: chart.title, panels: chart.panels.filter((p) => p.values.length > 0) }),
    );
  }
  say(`wrote ${join(resultsDir, `${name}.json`)}${svg ? ` and ${name}-latency.svg` : ''}`);
}

/** k6 itself failed: the result file says so rather than keeping an older run's figures. */
function writeFailure(name: string, env: Env, o: K6Outcome): false {
  write(name, {
    benchmark: name,
    ...env.common,
    error: `k6 exited with ${o.exitCode}${o.summary ? '' : ' and wrote no summary'}; see the log above`,
    thresholdsPassed: false,
    meetsTarget: false,
  });
  return false;
}

const allPassed = (t: Record<string, Record<string, boolean>>) =>
  Object.keys(t).length > 0 && Object.values(t).every((m) => Object.values(m).every(Boolean));

/** k6 ran to the end (thresholds may have failed); anything else is the benchmark's failure. */
function k6Ran(o: K6Outcome, label: string): boolean {
  if ((o.exitCode === 0 || o.exitCode === 99) && o.summary) return true;
  say(`k6 ${label} failed to run (exit ${o.exitCode}${o.summary ? '' : ', no summary'})`);
  return false;
}

/**
 * What the cloud's database sessions were doing, sampled every 250 ms while a run lasts: counts of
 * (state, wait event) over all samples. Many `Lock:…` samples mean transactions queue on a lock.
 */
function sampleDbWaits(db: Db, dbName: string): () => Record<string, number> {
  const counts: Record<string, number> = {};
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    db.query<{ what: string; n: number }>(
      `select state || coalesce(': ' || wait_event_type || '/' || wait_event, '') as what, count(*)::int as n
       from pg_stat_activity
       where datname = $1 and application_name <> 'bench-k6-driver' and backend_type = 'client backend'
       group by 1`,
      [dbName],
    )
      .then((r) => {
        for (const row of r.rows) counts[row.what] = (counts[row.what] ?? 0) + row.n;
      })
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  }, 250);
  return () => {
    clearInterval(timer);
    return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
  };
}

// ---------------------------------------------------------------------------------------------

interface Env {
  k6: { path: string; version: string };
  db: Db;
  cloud: Cloud;
  tmp: string;
  run: string;
  shoppers: Shopper[];
  gate: { id: string; auth: string };
  /** One gate controller per store the gate load goes to. */
  loadGates: Array<{ gateId: string; auth: string; storeId: string }>;
  skus: string[];
  common: Record<string, unknown>;
  dbName: string;
}

async function gateScenario(env: Env): Promise<boolean> {
  const n = Math.ceil(GATE.rate * GATE.seconds * 1.02) + 50;
  const t0 = performance.now();
  let codes: string[];
  if (CODES === 'api') {
    say(
      `\ngate: fetching ${n} fresh entry codes through POST /v1/me/entry-codes, in the order k6 will use them…`,
    );
    let fetched = 0;
    const progress = setInterval(() => say(`  ${fetched}/${n} codes`), 3000);
    codes = await mapLimit(n, 48, async (i) => {
      const c = await entryCode(env.shoppers[i % env.shoppers.length]!.token);
      fetched += 1;
      return c;
    });
    clearInterval(progress);
  } else {
    // What POST /v1/me/entry-codes does, with the cloud's own signing key from its database: the
    // codes are as fresh as can be when the run starts (the endpoint's own speed is app.js's part).
    say(`\ngate: signing ${n} fresh entry codes with the cloud's entry key, in the order k6 will use them…`);
    const keys = await loadKeys(env.db);
    const kid = (code: string) =>
      (JSON.parse(Buffer.from(code.split('.')[0]!, 'base64url').toString()) as { kid?: string }).kid;
    const sample = await entryCode(env.shoppers[0]!.token);
    if (kid(sample) !== keys.entry.kid)
      throw new Error(
        `the cloud signs with ${kid(sample)}, the database's newest entry key is ${keys.entry.kid}`,
      );
    codes = [];
    for (let i = 0; i < n; i += 1000) {
      const chunk = await Promise.all(
        Array.from({ length: Math.min(1000, n - i) }, (_, k) =>
          issueEntryCode(
            { shopperId: env.shoppers[(i + k) % env.shoppers.length]!.id, companions: 0 },
            keys.entry,
            Date.now(),
            ENTRY_CODE_TTL_S,
          ),
        ),
      );
      codes.push(...chunk.map((c) => c.code));
    }
  }
  const fetchSeconds = (performance.now() - t0) / 1000;
  say(`  ${n} codes in ${round(fetchSeconds, 2)} s (${Math.round(n / fetchSeconds)}/s)`);
  if (fetchSeconds + GATE.seconds > ENTRY_CODE_TTL_S - 3)
    say('  warning: the first codes may expire before they are scanned (use a shorter --gate-seconds)');
  const codesFile = join(env.tmp, 'codes.json');
  writeFileSync(codesFile, JSON.stringify(codes));
  const gatesFile = join(env.tmp, 'gates.json');
  writeFileSync(gatesFile, JSON.stringify(env.loadGates));
  const name = GATE.stores > 1 ? `k6-gate-${GATE.stores}stores` : 'k6-gate';

  const since = new Date();
  const waits = sampleDbWaits(env.db, env.dbName);
  const summaryFile = join(env.tmp, 'gate-summary.json');
  const rawFile = join(env.tmp, 'gate-raw.json');
  say(
    `gate: k6 constant-arrival-rate ${GATE.rate}/s for ${GATE.seconds} s` +
      (GATE.stores > 1 ? `, spread over ${GATE.stores} stores…` : ', one store…'),
  );
  const o = await runK6({
    k6: env.k6.path,
    script: join(here, 'gate.js'),
    label: 'gate',
    env: {
      BASE_URL: env.cloud.httpUrl,
      GATES_FILE: gatesFile,
      CODES_FILE: codesFile,
      RATE: String(GATE.rate),
      DURATION: `${GATE.seconds}s`,
      PRE_VUS: String(Math.max(50, Math.ceil(GATE.rate / 10))),
      MAX_VUS: String(Math.max(200, Math.ceil(GATE.rate / 2))),
    },
    summaryFile,
    rawFile,
    cloudPid: env.cloud.child.pid!,
    say,
  });
  const dbWaits = waits();
  if (!k6Ran(o, 'gate')) return writeFailure(name, env, o);
  const s = o.summary;
  // Server-side decision time (inside decideScan) by 5-second window: does it grow as visits pile up?
  const windows = await env.db.query<{ t: number; n: number; p50: number; p99: number }>(
    `select extract(epoch from date_bin('5 seconds', time, $1) - $1)::int as t, count(*)::int as n,
            percentile_cont(0.5) within group (order by latency_ms) as p50,
            percentile_cont(0.99) within group (order by latency_ms) as p99
     from gate_decisions where time >= $1 and gate_id = $2 group by 1 order by 1`,
    [since, LOAD_GATE],
  );
  const decisions = await env.db.query<{ decision: string; reason: string; n: number }>(
    `select decision, coalesce(reason, '') as reason, count(*)::int as n from gate_decisions
     where time >= $1 and gate_id = $2 group by 1, 2 order by 3 desc`,
    [since, LOAD_GATE],
  );
  const server = await env.db.query<{ p50: number; p90: number; p99: number; max: number }>(
    `select percentile_cont(0.5) within group (order by latency_ms) as p50,
            percentile_cont(0.9) within group (order by latency_ms) as p90,
            percentile_cont(0.99) within group (order by latency_ms) as p99,
            max(latency_ms) as max
     from gate_decisions where time >= $1 and gate_id = $2`,
    [since, LOAD_GATE],
  );
  const opens = decisions.rows.filter((r) => r.decision === 'open').reduce((a, r) => a + r.n, 0);
  const denials = Object.fromEntries(
    decisions.rows.filter((r) => r.decision === 'deny').map((r) => [r.reason, r.n]),
  );
  const requests =
    metricValue(s, 'http_reqs{scenario:gate}', 'count') || metricValue(s, 'http_reqs', 'count');
  const latency = trend(s, 'http_req_duration{scenario:gate}');
  const t = thresholds(s);
  const samples = (await readPoints(rawFile, 'http_req_duration', 'scenario')).get('gate') ?? [];
  const achieved = requests / GATE.seconds;
  const passed = allPassed(t) && o.exitCode === 0;
  const sv = server.rows[0];
  const result = {
    benchmark: 'k6-gate',
    ...env.common,
    script: 'benchmarks/k6/gate.js',
    what:
      'POST /v1/gates/:gateId/scans with device Basic auth, one fresh entry code per scan, ' +
      (GATE.stores > 1 ? `spread over ${GATE.stores} stores (capacity null)` : 'one store (capacity null)'),
    target: {
      ratePerS: GATE.rate,
      seconds: GATE.seconds,
      stores: GATE.stores,
      p99Ms: GATE.p99Ms,
      maxFailedRate: GATE.maxFailed,
    },
    setup: {
      shoppers: env.shoppers.length,
      codes: n,
      codesFrom:
        CODES === 'api'
          ? 'POST /v1/me/entry-codes'
          : "signed by the driver with the cloud's entry key (what POST /v1/me/entry-codes does)",
      codeSeconds: round(fetchSeconds, 2),
      entryCodeTtlS: ENTRY_CODE_TTL_S,
    },
    achieved: {
      requests,
      ratePerS: round(achieved),
      droppedIterations: metricValue(s, 'dropped_iterations', 'count'),
      maxVUs: metricValue(s, 'vus_max', 'max') || metricValue(s, 'vus_max', 'value'),
      failedRate: metricValue(s, 'http_req_failed{scenario:gate}', 'value'),
    },
    latencyMs: latency,
    latencyMsFromRawSamples: summarize(samples),
    serverDecisionMs: sv
      ? { p50: round(sv.p50, 2), p90: round(sv.p90, 2), p99: round(sv.p99, 2), max: round(sv.max, 2) }
      : null,
    serverDecisionMsBy5s: windows.rows.map((w) => ({
      fromS: w.t,
      decisions: w.n,
      p50: round(w.p50, 2),
      p99: round(w.p99, 2),
    })),
    openVisitsAtEnd: (
      await env.db.query<{ n: number }>(
        "select count(*)::int as n from visits where status in ('entering', 'open') and store_id = any($1)",
        [env.loadGates.map((g) => g.storeId)],
      )
    ).rows[0]?.n,
    dbSessionSamples: dbWaits,
    decisions: {
      open: opens,
      deny: denials,
      openShare: round(
        opens /
          Math.max(
            1,
            decisions.rows.reduce((a, r) => a + r.n, 0),
          ),
        4,
      ),
    },
    thresholds: t,
    thresholdsPassed: passed,
    meetsTarget: passed && achieved >= GATE.rate * 0.99,
    cpuCores: o.cpuCores,
    k6ExitCode: o.exitCode,
  };
  write(name, result, {
    title: `Gate scan latency seen by k6, ${GATE.rate}/s target, ${round(achieved)}/s achieved`,
    panels: [{ name: 'POST /v1/gates/:gateId/scans', unit: 'ms', colour: '#2c7fb8', values: samples }],
  });
  say(
    `gate: ${round(achieved)}/s (target ${GATE.rate}), p99 ${latency?.p99} ms (target < ${GATE.p99Ms}), ` +
      `opens ${opens}, denials ${JSON.stringify(denials)}; thresholds ${passed ? 'passed' : 'FAILED'}`,
  );
  return passed;
}

async function appScenario(env: Env): Promise<boolean> {
  const shoppersFile = join(env.tmp, 'shoppers.json');
  writeFileSync(
    shoppersFile,
    JSON.stringify(env.shoppers.map((s) => ({ token: s.token, receipts: RECEIPTS_PER_SHOPPER }))),
  );
  const half = Math.round(APP.rate / 2);
  const summaryFile = join(env.tmp, 'app-summary.json');
  const rawFile = join(env.tmp, 'app-raw.json');
  const waits = sampleDbWaits(env.db, env.dbName);
  say(`\napp: k6 ${half}/s entry codes + ${APP.rate - half}/s receipt lists for ${APP.seconds} s…`);
  const o = await runK6({
    k6: env.k6.path,
    script: join(here, 'app.js'),
    label: 'app',
    env: {
      BASE_URL: env.cloud.httpUrl,
      SHOPPERS_FILE: shoppersFile,
      CODES_RATE: String(half),
      RECEIPTS_RATE: String(APP.rate - half),
      DURATION: `${APP.seconds}s`,
    },
    summaryFile,
    rawFile,
    cloudPid: env.cloud.child.pid!,
    say,
  });
  const dbWaits = waits();
  if (!k6Ran(o, 'app')) return writeFailure('k6-app', env, o);
  const s = o.summary;
  const t = thresholds(s);
  const points = await readPoints(rawFile, 'http_req_duration', 'scenario');
  const passed = allPassed(t) && o.exitCode === 0;
  const per = (name: 'codes' | 'receipts', target: number) => {
    const requests =
      metricValue(s, `http_req_duration{scenario:${name}}`, 'count') || (points.get(name)?.length ?? 0);
    return {
      targetRatePerS: target,
      requests,
      ratePerS: round(requests / APP.seconds),
      latencyMs: trend(s, `http_req_duration{scenario:${name}}`),
      latencyMsFromRawSamples: summarize(points.get(name) ?? []),
      failedRate: metricValue(s, `http_req_failed{scenario:${name}}`, 'value'),
    };
  };
  const codes = per('codes', half);
  const receipts = per('receipts', APP.rate - half);
  const result = {
    benchmark: 'k6-app',
    ...env.common,
    script: 'benchmarks/k6/app.js',
    what: `POST /v1/me/entry-codes and GET /v1/me/receipts with bearer tokens of ${env.shoppers.length} shoppers, ${RECEIPTS_PER_SHOPPER} issued receipts each`,
    target: { ratePerS: APP.rate, seconds: APP.seconds, p99Ms: APP.p99Ms },
    entryCodes: codes,
    receipts,
    checksPassRate: metricValue(s, 'checks', 'value'),
    dbSessionSamples: dbWaits,
    droppedIterations: metricValue(s, 'dropped_iterations', 'count'),
    thresholds: t,
    thresholdsPassed: passed,
    meetsTarget: passed && codes.ratePerS + receipts.ratePerS >= APP.rate * 0.99,
    cpuCores: o.cpuCores,
    k6ExitCode: o.exitCode,
  };
  write('k6-app', result, {
    title: `App calls seen by k6, ${APP.rate}/s in all`,
    panels: [
      { name: 'POST /v1/me/entry-codes', unit: 'ms', colour: '#2c7fb8', values: points.get('codes') ?? [] },
      { name: 'GET /v1/me/receipts', unit: 'ms', colour: '#d95f0e', values: points.get('receipts') ?? [] },
    ],
  });
  say(
    `app: entry codes ${codes.ratePerS}/s p99 ${codes.latencyMs?.p99} ms, receipts ${receipts.ratePerS}/s ` +
      `p99 ${receipts.latencyMs?.p99} ms (target < ${APP.p99Ms}); thresholds ${passed ? 'passed' : 'FAILED'}`,
  );
  return passed;
}

/** What the cloud stored for these devices, compared with what their streams sent. */
async function verifyEdges(db: Db, results: readonly EdgeResult[]) {
  const ids = results.map((r) => r.device);
  const stored = await db.query<{ device_id: string; n: number; lo: number; hi: number }>(
    `select device_id, count(*)::int as n, min(seq)::bigint as lo, max(seq)::bigint as hi
     from cart_events where device_id = any($1) group by 1`,
    [ids],
  );
  const acks = await db.query<{ device_id: string; acked_seq: number }>(
    'select device_id, acked_seq from edge_links where device_id = any($1)',
    [ids],
  );
  // A batch is stored in one transaction, and received_at defaults to the transaction's start.
  const batches = await db.query<{ n: number }>(
    'select count(distinct (device_id, received_at))::int as n from edge_events where device_id = any($1)',
    [ids],
  );
  const refusedRows = await db.query<{ n: number }>(
    'select count(*)::int as n from edge_rejections where device_id = any($1)',
    [ids],
  );
  const byDevice = new Map(stored.rows.map((r) => [r.device_id, r]));
  const ackOf = new Map(acks.rows.map((r) => [r.device_id, r.acked_seq]));
  const sent = results.reduce((a, r) => a + r.sent, 0);
  const storedN = stored.rows.reduce((a, r) => a + r.n, 0);
  const first = results.length ? Math.min(...results.map((r) => r.t0)) : 0;
  const lastAck = results.length ? Math.max(...results.map((r) => r.tLastAck)) : 0;
  const lastWrite = results.length ? Math.max(...results.map((r) => r.tLastWrite)) : 0;
  const acked = results.reduce((a, r) => a + r.acked, 0);
  const latencies = results.flatMap((r) => r.latencies);
  return {
    edges: results.length,
    eventsTarget: results.reduce((a, r) => a + r.target, 0),
    eventsSent: sent,
    eventsAcknowledged: acked,
    eventsStored: storedN,
    lost: sent - storedN,
    rejected: refusedRows.rows[0]?.n ?? 0,
    /** Transactions the cloud stored the events in, and events per transaction. */
    storeBatches: batches.rows[0]?.n ?? 0,
    eventsPerBatch: round(storedN / Math.max(1, batches.rows[0]?.n ?? 0)),
    streamErrors: results.reduce((a, r) => a + r.errors, 0),
    /** Stored events over the time from the first write to the last ack: what the cloud kept up with. */
    sustainedEventsPerS: Math.round(acked / Math.max(0.001, (lastAck - first) / 1000)),
    /** Events handed to the stream over the writing phase. */
    writeEventsPerS: Math.round(sent / Math.max(0.001, (lastWrite - first) / 1000)),
    drainSecondsAfterLastWrite: round((lastAck - lastWrite) / 1000, 2),
    ackLatencyMs: summarize(latencies),
    perEdge: results.map((r) => {
      const row = byDevice.get(r.device);
      return {
        device: r.device,
        ended: r.why,
        sent: r.sent,
        finalAck: ackOf.get(r.device) ?? 0,
        stored: row?.n ?? 0,
        seqRange: row ? [row.lo, row.hi] : null,
        contiguous: row ? row.hi - row.lo + 1 === row.n && row.lo === r.base + 1 : false,
        eventsPerS: Math.round(r.acked / Math.max(0.001, (r.tLastAck - r.t0) / 1000)),
      };
    }),
    ackLagSecondsBySecond: ackLag(results),
    latencies,
  };
}

/**
 * How far the cloud's acknowledgements were behind the writing schedule, second by second (the
 * mean over edges at the end of each second): steady means the rate is sustained, rising means a
 * backlog grows.
 */
function ackLag(results: readonly EdgeResult[]): number[] {
  const perEdge = results.map((r) => ({ r, rate: r.target / Math.max(0.001, (r.tLastWrite - r.t0) / 1000) }));
  const seconds = Math.ceil(Math.max(0, ...results.map((r) => (r.tLastAck - r.t0) / 1000)));
  const out: number[] = [];
  for (let sec = 1; sec <= seconds; sec += 1) {
    const lags = perEdge.flatMap(({ r, rate }) => {
      const until = r.t0 + sec * 1000;
      const point = r.timeline.filter(([t]) => t <= until).at(-1);
      if (!point) return [];
      const scheduled = Math.min(r.target, ((point[0] - r.t0) / 1000) * rate);
      return [Math.max(0, scheduled - point[1]) / rate];
    });
    if (lags.length) out.push(round(lags.reduce((a, b) => a + b, 0) / lags.length, 2));
  }
  return out;
}

async function edgeScenario(env: Env, k6Edges: EdgeSpec[], nodeEdges: EdgeSpec[]): Promise<boolean> {
  const edgesFile = join(env.tmp, 'edges.json');
  writeFileSync(edgesFile, JSON.stringify(k6Edges));
  const summaryFile = join(env.tmp, 'edge-summary.json');
  let waits = sampleDbWaits(env.db, env.dbName);
  say(`\nedge: k6, ${k6Edges.length} edge streams, ${EDGE.rate} cart events/s in all for ${EDGE.seconds} s…`);
  const o = await runK6({
    k6: env.k6.path,
    script: join(here, 'edge.js'),
    label: 'edge',
    env: {
      GRPC_ADDR: env.cloud.grpcAddress,
      PROTO_DIR: join(root, 'proto/grpc'),
      EDGES_FILE: edgesFile,
      RATE: String(EDGE.rate),
      DURATION: String(EDGE.seconds),
    },
    summaryFile,
    capture: ['EDGE_RESULT '],
    cloudPid: env.cloud.child.pid!,
    say,
  });
  const k6DbWaits = waits();
  if (!k6Ran(o, 'edge')) return writeFailure('k6-edge', env, o);
  const k6Results = o.captured.map((l) => JSON.parse(l.slice('EDGE_RESULT '.length)) as EdgeResult);
  if (k6Results.length !== k6Edges.length)
    say(`  warning: ${k6Results.length} of ${k6Edges.length} k6 edges reported a result`);
  // The cloud stores a batch before it acks it; the last rows are in once the last ack is out.
  const k6Verified = await verifyEdges(env.db, k6Results);
  const t = thresholds(o.summary);
  const k6Ok =
    allPassed(t) && o.exitCode === 0 && k6Verified.lost === 0 && k6Results.length === k6Edges.length;
  const k6Reached = k6Verified.sustainedEventsPerS >= EDGE.rate * 0.95;
  say(
    `edge (k6): sent ${k6Verified.eventsSent}, stored ${k6Verified.eventsStored}, lost ${k6Verified.lost}; ` +
      `${k6Verified.sustainedEventsPerS} events/s sustained (written at ${k6Verified.writeEventsPerS}/s), ` +
      `ack latency p99 ${k6Verified.ackLatencyMs.p99} ms; cpu ${JSON.stringify(o.cpuCores)}`,
  );

  let node:
    | (Awaited<ReturnType<typeof verifyEdges>> & {
        cpuCores: Record<string, number>;
        dbSessionSamples: Record<string, number>;
      })
    | null = null;
  if (nodeEdge === 'always' || (nodeEdge === 'auto' && !k6Reached)) {
    say(`edge: the same load from Node (@grpc/grpc-js), ${nodeEdges.length} streams…`);
    const meter = new CpuMeter({
      cloud: () => [env.cloud.child.pid!],
      driver: () => [process.pid],
      postgres: postgresPids,
    });
    meter.start();
    waits = sampleDbWaits(env.db, env.dbName);
    const results = await runNodeEdges({
      address: env.cloud.grpcAddress,
      edges: nodeEdges,
      rate: EDGE.rate,
      seconds: EDGE.seconds,
    });
    const cpuCores = meter.stop();
    const dbSessionSamples = waits();
    node = { ...(await verifyEdges(env.db, results)), cpuCores, dbSessionSamples };
    say(
      `edge (node): sent ${node.eventsSent}, stored ${node.eventsStored}, lost ${node.lost}; ` +
        `${node.sustainedEventsPerS} events/s sustained, ack latency p99 ${node.ackLatencyMs.p99} ms; ` +
        `cpu ${JSON.stringify(cpuCores)}`,
    );
  }
  const strip = <T extends { latencies: number[] }>(v: T) => {
    const { latencies: _, ...rest } = v;
    return rest;
  };
  const nodeOk = node !== null && node.lost === 0 && node.sustainedEventsPerS >= EDGE.rate * 0.95;
  const result = {
    benchmark: 'k6-edge',
    ...env.common,
    script: 'benchmarks/k6/edge.js',
    what: 'EdgeLink.Connect bidirectional streams, one per edge device, cart events with contiguous seqs about open visits of the store',
    target: { eventsPerS: EDGE.rate, seconds: EDGE.seconds, edges: EDGE.edges, lost: 0 },
    k6: {
      ...strip(k6Verified),
      thresholds: t,
      thresholdsPassed: allPassed(t) && o.exitCode === 0,
      reachedTarget: k6Reached,
      cpuCores: o.cpuCores,
      dbSessionSamples: k6DbWaits,
      k6ExitCode: o.exitCode,
    },
    k6CouldDriveTarget: k6Reached,
    note: k6Reached
      ? 'k6 drove the target rate itself'
      : 'k6 did not reach the target rate; see node (the same load from @grpc/grpc-js) for whether the cloud can',
    node: node ? { ...strip(node), reachedTarget: nodeOk } : null,
    meetsTarget: (k6Ok && k6Reached) || nodeOk,
  };
  const panels: Distribution[] = [
    { name: 'k6 edges: write → cumulative ack', unit: 'ms', colour: '#2c7fb8', values: k6Verified.latencies },
  ];
  if (node)
    panels.push({
      name: 'Node edges: write → cumulative ack',
      unit: 'ms',
      colour: '#d95f0e',
      values: node.latencies,
    });
  write('k6-edge', result, {
    title: `Edge cart events, ${EDGE.rate}/s target: time to acknowledgement`,
    panels,
  });
  return result.meetsTarget && k6Ok;
}

// ---------------------------------------------------------------------------------------------

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
    baseUrl = cloud.httpUrl;
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

    const edgeSpecs = async (count: number): Promise<EdgeSpec[]> => {
      const out: EdgeSpec[] = [];
      for (let e = 0; e < count; e += 1) {
        const d = await createDevice(db!, 'bench', 'edge');
        const visits = await mapLimit(VISITS_PER_EDGE, 4, (v) =>
          openVisit(shoppers[(e * VISITS_PER_EDGE + v) % SHOPPERS]!, gate.auth, 'gate-setup'),
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
          dbPoolSize: 10,
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
