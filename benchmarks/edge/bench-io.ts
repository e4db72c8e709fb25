/**
 * The edge's live input when the CPU is short: does it fall behind?
 *
 *   npx tsx benchmarks/edge/bench-io.ts [--seconds 40] [--work-ms 40] [--detect-fps 5]
 *
 * Runs the simulator live through its CLI (the reference store: 8 cameras at 10 fps over MJPEG, 80
 * plates at 10 batches a second over MQTT, real time) against MQTT_URL/MQTT_ADMIN, and the edge's
 * live input in this process with a loop that burns `work-ms` of CPU per frame (a detector) and
 * nothing per device message. Prints, as JSON: per camera frames received, processed, dropped; the
 * lag of what the loop takes (the store's newest time as the edge knows it, minus the input's own
 * time) over the first and the second half of the run; the device queue's longest length; RSS.
 * A source that queued would show lag growing from the first half to the second.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { connectLiveInput } from '../../edge/io/live-input.ts';
import { createLogger } from '../../platform/log.ts';
import { connectDynsecAuthority, parseBrokerLogin } from '../../platform/mqtt-authority.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '40' },
    'work-ms': { type: 'string', default: '40' },
    'detect-fps': { type: 'string', default: '5' },
  },
});
const seconds = Number(values.seconds);
const workMs = Number(values['work-ms']);
const detectFps = Number(values['detect-fps']);
const url = process.env.MQTT_URL;
const admin = process.env.MQTT_ADMIN;
if (!url || !admin) throw new Error('bench-io needs MQTT_URL and MQTT_ADMIN (scripts/services.sh up)');

const root = new URL('../../', import.meta.url).pathname;
const dir = join(tmpdir(), `walkout-bench-io-${randomUUID().slice(0, 8)}`);
mkdirSync(dir, { recursive: true });
// A store of its own on the shared broker.
const storeId = `bench-io-${randomUUID().slice(0, 6)}`;
const layout = JSON.parse(readFileSync(join(root, 'proto/stores/reference/layout.json'), 'utf8'));
writeFileSync(join(dir, 'layout.json'), JSON.stringify({ ...layout, storeId }));

const authority = await connectDynsecAuthority({ url, admin: parseBrokerLogin(admin) });
const login = { username: `${storeId}/edge`, password: randomUUID() };
await authority.grant({ ...login, identity: { role: 'edge', storeId, deviceId: 'edge' } });

// Node itself (not npx): the PID killed at the end is the simulator's.
const sim: ChildProcess = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    'simulator/cli/sim.ts',
    '--no-progress',
    ...['--scenario', 'crowded', '--seed', '1', '--minutes', String(seconds / 60 + 1), '--speed', '1'],
    ...['--layout', join(dir, 'layout.json'), '--catalog', 'proto/stores/reference/catalog.json'],
    ...['--camera-port', '0', '--out', join(dir, 'out')],
  ],
  { cwd: root, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] },
);

const input = await connectLiveInput({
  mqtt: { url, storeId, ...login, clientId: `${storeId}-edge` },
  cameras: { detectFps },
  log: createLogger('bench-io', { level: 'warn' }),
});

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
};
type Sample = { atS: number; lagMs: number };
const frameLag: Sample[] = [];
const messageLag: Sample[] = [];
let longestQueue = 0;
let started: number | null = null;
const rssStart = process.memoryUsage().rss;
for (;;) {
  const next = await input.next();
  if (!next) break;
  const storeMs = input.storeTimeMs()!;
  // The clock starts with the first frame: before it, cameras are still being found.
  if (next.kind === 'frame') started ??= performance.now();
  if (started === null) continue;
  const atS = (performance.now() - started) / 1000;
  if (atS > seconds) break;
  longestQueue = Math.max(longestQueue, input.pendingMessages());
  if (next.kind === 'device') messageLag.push({ atS, lagMs: storeMs - next.tsMs });
  else {
    frameLag.push({ atS, lagMs: storeMs - next.frame.captureMs });
    busy(workMs);
    input.markProcessed(next.frame.cameraId);
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : null;
};
const halves = (xs: Sample[]) =>
  [xs.filter((x) => x.atS < seconds / 2), xs.filter((x) => x.atS >= seconds / 2)].map((h) => ({
    n: h.length,
    p50: pct(
      h.map((x) => x.lagMs),
      50,
    ),
    p95: pct(
      h.map((x) => x.lagMs),
      95,
    ),
    max: pct(
      h.map((x) => x.lagMs),
      100,
    ),
  }));
const counters = input.counters();
const total = Object.values(counters).reduce(
  (t, c) => ({
    received: t.received + c.received,
    processed: t.processed + c.processed,
    dropped: t.dropped + c.dropped,
  }),
  { received: 0, processed: 0, dropped: 0 },
);
const result = {
  seconds,
  workMs,
  detectFps,
  cameras: Object.keys(counters).length,
  frames: total,
  processedPerSecond: +(total.processed / seconds).toFixed(1),
  frameLagMs: { firstHalf: halves(frameLag)[0], secondHalf: halves(frameLag)[1] },
  messageLagMs: { firstHalf: halves(messageLag)[0], secondHalf: halves(messageLag)[1] },
  longestDeviceQueue: longestQueue,
  rejected: input.rejected(),
  rssMb: { start: Math.round(rssStart / 2 ** 20), end: Math.round(process.memoryUsage().rss / 2 ** 20) },
};
await input.close();
// The edge's persistent session goes with the run.
await (await mqtt.connectAsync(url, { ...login, clientId: `${storeId}-edge`, clean: true })).endAsync();
sim.kill('SIGTERM');
await new Promise((r) => sim.once('exit', r));
await authority.revoke(login.username);
await authority.close();
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
process.exit(0);
