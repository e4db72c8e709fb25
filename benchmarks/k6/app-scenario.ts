/** app.js: the app's entry-code and receipt calls with shoppers' tokens. */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarize } from '../inference/stats.ts';
import { metricValue, readPoints, runK6, thresholds, trend } from './k6.ts';
import { APP, here, RECEIPTS_PER_SHOPPER, round, say } from './options.ts';
import { allPassed, type Env, k6Ran, sampleDbWaits, write, writeFailure } from './report.ts';

export async function appScenario(env: Env): Promise<boolean> {
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
