/** gate.js: gate decisions over HTTP at a constant arrival rate, each scan a fresh code. */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueEntryCode } from '../../cloud/entry/codes.ts';
import { loadKeys } from '../../cloud/keys.ts';
import { summarize } from '../inference/stats.ts';
import { entryCode, mapLimit } from './cloud-process.ts';
import { metricValue, readPoints, runK6, thresholds, trend } from './k6.ts';
import { CODES, ENTRY_CODE_TTL_S, GATE, here, LOAD_GATE, round, say } from './options.ts';
import { allPassed, type Env, k6Ran, sampleDbWaits, write, writeFailure } from './report.ts';

export async function gateScenario(env: Env): Promise<boolean> {
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
    // A shopper is in one visit at a time and these visits stay open, so every scan needs a
    // shopper of its own: copies of the first shopper (the same sandbox card), made in one statement.
    say(`  making ${n} shoppers to scan with, one per code…`);
    const scanners = await env.db.query<{ id: string }>(
      `with s as (
         insert into shoppers (email, password_hash, name)
         select 'k6-gate-' || $3::text || '-' || g || '@example.test', 'not a password', 'k6 gate ' || g
         from generate_series(1, $1::int) g returning id),
       l as (insert into loyalty_accounts (shopper_id) select id from s),
       p as (
         insert into payment_methods (shopper_id, provider, provider_token, brand, last4)
         select s.id, m.provider, m.provider_token, m.brand, m.last4
         from s cross join (select * from current_payment_methods where shopper_id = $2) m)
       select id from s`,
      [n, env.shoppers[0]!.id, env.run],
    );
    codes = [];
    for (let i = 0; i < n; i += 1000) {
      const chunk = await Promise.all(
        Array.from({ length: Math.min(1000, n - i) }, (_, k) =>
          issueEntryCode(
            { shopperId: scanners.rows[i + k]!.id, companions: 0 },
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
        "select count(*)::int as n from visits where status = 'open' and store_id = any($1)",
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
