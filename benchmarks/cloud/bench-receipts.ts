/**
 * `npm run bench:receipts`: how long a shopper waits for the receipt after walking out. Each visit
 * enters through the HTTP gate, takes a few items over the EdgeLink stream and closes; the clock
 * runs from writing VISIT_CLOSED to the `receipt` event arriving on the shopper's SSE stream, so it
 * covers the edge link, the ack, settlement (pricing, capture at the sandbox provider, issue) and
 * the push. Target: p99 under 2 s. Writes benchmarks/results/receipts.json and receipts-latency.svg.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { newShopper, startTestCloud } from '../../test/support/cloud.ts';
import { referenceCatalog, setUpStore } from '../../test/support/store.ts';
import { summarize } from '../inference/stats.ts';
import { histogramChart } from '../lib/svg-histogram.ts';

const { values } = parseArgs({
  options: { visits: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '20' } },
});
const visits = Number(values.visits);
const concurrency = Number(values.concurrency);
process.env.LOG_LEVEL ??= 'warn';

const cloud = await startTestCloud('bench_receipts', { SCRYPT_COST: '1024' }, { realTime: true });
const store = await setUpStore(cloud);
const skus = referenceCatalog.items.filter((i) => i.soldBy === 'unit').map((i) => i.sku);
const latencies: number[] = [];
let done = 0;
const started = performance.now();

async function oneVisit(i: number): Promise<void> {
  const shopper = await newShopper(cloud);
  const events = await fetch(`${cloud.httpUrl}/v1/me/events?access_token=${shopper.token}`);
  const reader = events.body!.getReader();
  const code = await cloud.call('POST', '/v1/me/entry-codes', { token: shopper.token, body: {} });
  const open = await cloud.call('POST', '/v1/gates/g1/scans', {
    basic: store.gate,
    body: { qr: code.body.code },
  });
  if (open.body.decision !== 'open') throw new Error(`visit ${i}: gate denied ${open.body.reason}`);
  for (let k = 0; k < 1 + (i % 5); k++)
    store.take(open.body.visitId, skus[(i * 7 + k) % skus.length]!, 1 + (k % 2));
  const t0 = performance.now();
  store.close(open.body.visitId);
  let text = '';
  while (!text.includes('event: receipt')) {
    const { value, done: ended } = await reader.read();
    if (ended) throw new Error(`visit ${i}: event stream ended before the receipt`);
    text += new TextDecoder().decode(value);
  }
  latencies.push(performance.now() - t0);
  await reader.cancel();
  done += 1;
  if (done % 25 === 0 || done === visits) {
    process.stderr.write(
      `[receipts] ${done}/${visits} visits, p50 so far ${summarize(latencies).p50.toFixed(1)} ms\n`,
    );
  }
}

let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < visits) await oneVisit(next++);
  }),
);
const wallS = (performance.now() - started) / 1000;
const summary = summarize(latencies);
const result = {
  benchmark: 'receipts',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
  setup: {
    visits,
    concurrency,
    provider: 'sandbox',
    database: process.env.DATABASE_URL ? 'external' : 'embedded',
  },
  target: { p99Ms: 2000 },
  closeToReceiptMs: summary,
  met: summary.p99 < 2000,
  wallSeconds: Math.round(wallS * 10) / 10,
};
writeFileSync('benchmarks/results/receipts.json', `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(
  'benchmarks/results/receipts-latency.svg',
  histogramChart({
    title: `Close to receipt on the app, ${visits} visits, ${concurrency} at a time`,
    panels: [{ name: 'close → receipt event', unit: 'ms', colour: '#2a7', values: latencies }],
  }),
);
process.stdout.write(`${JSON.stringify(result.closeToReceiptMs)}\n`);
store.disconnect();
await cloud.stop();
if (!result.met) process.exitCode = 1;
