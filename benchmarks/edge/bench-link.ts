/**
 * `npx tsx benchmarks/edge/bench-link.ts [--reports N] [--max-in-flight N]`: the edge's EdgeLink client against a real
 * cloud on the real PostgreSQL (DATABASE_URL). Measures durable appends (one at a time, as a loop
 * awaiting each report, and issued together), delivery while connected (append to cumulative ack),
 * and a backlog that built up while the cloud was down, drained after it returns, with the peak
 * memory of the process while it drains (the link reads the outbox in pages, so it should not
 * grow with the backlog). Prints one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeLinkClient } from '../../edge/link/client.ts';
import { loadLinkConfig } from '../../edge/link/config.ts';
import type { Report } from '../../edge/stages.ts';
import { createLogger } from '../../platform/log.ts';
import { newShopper, startTestCloud } from '../../test/support/cloud.ts';
import { entryCode } from '../../test/support/gate.ts';
import { addDevice, setUpStore } from '../../test/support/store.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('reports', 20_000);
const MAX_IN_FLIGHT = arg('max-in-flight', 1000);
const SEQUENTIAL = Math.min(N, 500);
const log = createLogger('bench-link', { level: 'error' });
const shelf = (i: number): Report => ({
  body: 'shelf',
  shelf: { plateId: `p${i % 64}`, grams: i, stable: true },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;

async function acked(link: EdgeLinkClient, seq: number, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (link.status().ackedSeq < seq) {
    if (Date.now() > end) throw new Error(`acked ${link.status().ackedSeq} of ${seq}`);
    await sleep(5);
  }
}

let cloud = await startTestCloud('bench-link', {}, { log });
(await setUpStore(cloud)).disconnect();
const edge = await addDevice(cloud, 'reference', 'edge');
const dir = mkdtempSync(join(tmpdir(), 'walkout-bench-link-'));
const link = EdgeLinkClient.start(
  loadLinkConfig(
    {
      address: cloud.grpcAddress,
      outboxDir: dir,
      backoff: { initialMs: 50, maxMs: 200 },
      maxInFlight: MAX_IN_FLIGHT,
    },
    { WALKOUT_EDGE_CREDENTIALS: `${edge.id}:${edge.secret}` },
  ),
  { log },
);
let seq = 0;

// One report at a time, each awaited: the fsync's latency bounds it.
let t0 = performance.now();
for (let i = 0; i < SEQUENTIAL; i++) await link.report(shelf(seq++), Date.now());
const sequentialPerS = SEQUENTIAL / ((performance.now() - t0) / 1000);
await acked(link, seq);

// Issued together (a busy loop not waiting on each): appends share fsyncs; delivery until acked.
t0 = performance.now();
const batch: Promise<void>[] = [];
for (let i = 0; i < N; i++) batch.push(link.report(shelf(seq++), Date.now()));
await Promise.all(batch);
const appendMs = performance.now() - t0;
await acked(link, seq);
const deliveredMs = performance.now() - t0;

// The cloud down while reports pile up, then back: the backlog drains; memory sampled meanwhile.
const down = await cloud.down();
const backlogFrom = seq;
const piled: Promise<void>[] = [];
for (let i = 0; i < N; i++) piled.push(link.report(shelf(seq++), Date.now()));
await Promise.all(piled);
global.gc?.();
const before = process.memoryUsage();
let peakRss = before.rss;
let peakHeap = before.heapUsed;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}, 10);
t0 = performance.now();
cloud = await down.up({ log });
// Gate scans asked while the backlog drains: how long a shopper at the gate waits behind it.
const shoppers = await Promise.all(Array.from({ length: 20 }, () => newShopper(cloud)));
const gateMs: number[] = [];
let scans = 0;
while (link.status().ackedSeq < seq && scans < shoppers.length) {
  if (!link.status().connected) {
    await sleep(5);
    continue;
  }
  const qr = await entryCode(cloud, shoppers[scans]!.token);
  const asked = performance.now();
  const answer = await link.askGate({ scanId: `scan-${scans}`, gateId: 'g1', qr }, 10_000);
  if (answer?.open) gateMs.push(performance.now() - asked);
  scans += 1;
}
await acked(link, seq);
const drainMs = performance.now() - t0;
clearInterval(sampler);
gateMs.sort((a, b) => a - b);

console.log(
  JSON.stringify(
    {
      reports: N,
      maxInFlight: MAX_IN_FLIGHT,
      durableAppendsPerS: {
        oneAtATime: Math.round(sequentialPerS),
        issuedTogether: Math.round(N / (appendMs / 1000)),
      },
      connected: {
        deliveredPerS: Math.round(N / (deliveredMs / 1000)),
        lastAckAfterMs: Math.round(deliveredMs),
      },
      backlog: {
        reports: seq - backlogFrom,
        drainedPerS: Math.round((seq - backlogFrom) / (drainMs / 1000)),
        drainMs: Math.round(drainMs),
        rssMiB: { before: mib(before.rss), peak: mib(peakRss) },
        heapMiB: { before: mib(before.heapUsed), peak: mib(peakHeap) },
        gateScansWhileDraining: {
          answered: gateMs.length,
          medianMs: Math.round(gateMs[Math.floor(gateMs.length / 2)] ?? Number.NaN),
          maxMs: Math.round(gateMs.at(-1) ?? Number.NaN),
        },
      },
    },
    null,
    2,
  ),
);
await link.close();
await cloud.stop();
rmSync(dir, { recursive: true, force: true });
