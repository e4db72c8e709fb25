import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../../platform/embedded-mqtt.ts';
import {
  connectDynsecAuthority,
  type MqttAuthority,
  parseBrokerLogin,
} from '../../platform/mqtt-authority.ts';
import { type BrokerIdentity, isWalkoutError, topics } from '../../proto/index.ts';
import { startTestCameraHost, type TestCameraHost, testJpeg } from '../../test/support/mjpeg-server.ts';
import type { EdgeInput } from '../stages.ts';
import { connectLiveInput, type LiveInput, type LiveInputOptions } from './live-input.ts';
import { recordingLogger } from './test-log.ts';

/**
 * The live input against a real broker (Mosquitto with its dynamic security, as services.sh runs
 * it; the embedded aedes broker when MQTT_URL is unset) and a real HTTP MJPEG server.
 */
const storeId = `io-${randomUUID().slice(0, 8)}`;
const T0 = 1_767_603_600_000;
let url: string;
let authority: MqttAuthority;
let closeBroker: () => Promise<void>;
let cameras: TestCameraHost;
const logins = new Map<string, { username: string; password: string }>();
const clients: MqttClient[] = [];

const identities: BrokerIdentity[] = [
  { role: 'edge', storeId, deviceId: 'edge-1' },
  { role: 'plate', storeId, deviceId: 'P1' },
  { role: 'scanner', storeId, deviceId: 'S1', gateIds: ['g1'] },
  { role: 'camera', storeId, deviceId: 'cam-a' },
  { role: 'camera', storeId, deviceId: 'cam-b' },
];

beforeAll(async () => {
  if (process.env.MQTT_URL && process.env.MQTT_ADMIN) {
    url = process.env.MQTT_URL;
    authority = await connectDynsecAuthority({ url, admin: parseBrokerLogin(process.env.MQTT_ADMIN) });
    closeBroker = () => authority.close();
  } else {
    const b = await startEmbeddedBroker();
    ({ url, authority } = b);
    closeBroker = b.close;
  }
  const grants = identities.map((identity) => ({
    username: `${storeId}/${identity.deviceId}`,
    password: randomUUID(),
    identity,
  }));
  await authority.grantAll(grants);
  for (const g of grants) logins.set(g.identity.deviceId, { username: g.username, password: g.password });
  cameras = await startTestCameraHost();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  // Mosquitto keeps accounts and retained messages: leave it as found.
  await authority.revokeAll([...logins.values()].map((l) => l.username));
  await closeBroker();
  await cameras.close();
});

async function device(deviceId: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, {
    ...logins.get(deviceId)!,
    clientId: `${storeId}-${deviceId}`,
    reconnectPeriod: 0,
  });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

function edgeOptions(clientId: string, cameraOpts: LiveInputOptions['cameras'] = {}): LiveInputOptions {
  return {
    mqtt: { url, storeId, ...logins.get('edge-1')!, clientId, reconnectPeriodMs: 200 },
    cameras: { reconnectInitialMs: 50, reconnectMaxMs: 200, ...cameraOpts },
    log: recordingLogger(),
  };
}

/** Ends an edge's persistent session on the broker, so the test leaves no queue behind. */
async function forgetSession(clientId: string): Promise<void> {
  const c = await mqtt.connectAsync(url, {
    ...logins.get('edge-1')!,
    clientId,
    clean: true,
    reconnectPeriod: 0,
  });
  await c.endAsync();
}

async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The next `n` inputs that `keep` accepts (others are passed over). */
async function collect(input: LiveInput, n: number, keep: (i: EdgeInput) => boolean): Promise<EdgeInput[]> {
  const out: EdgeInput[] = [];
  while (out.length < n) {
    const i = await Promise.race([
      input.next(),
      new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error(`only ${out.length} of ${n} inputs`)), 5_000),
      ),
    ]);
    if (i === null) throw new Error('input ended');
    if (keep(i)) out.push(i);
  }
  return out;
}

const samples = (seq: number, plateId = 'P1') =>
  JSON.stringify({
    plateId,
    seq,
    t0Ms: T0 + seq * 100,
    sampleRateHz: 60,
    grams: [500, 500.5, 501, 500, 499, 500],
  });
const isSamples = (i: EdgeInput) => i.kind === 'device' && i.message.kind === 'plateSamples';
const isStatus = (i: EdgeInput) => i.kind === 'device' && i.message.kind === 'deviceStatus';

describe('live input: device messages', () => {
  it('hands them over in broker order, and counts, logs and skips malformed ones while good ones flow', async () => {
    const clientId = `${storeId}-edge-order`;
    const opts = edgeOptions(clientId);
    const input = await connectLiveInput(opts);
    try {
      const plate = await device('P1');
      const topic = topics.plateSamples(storeId, 'P1');
      const bad: Record<number, string> = {
        5: '{"plateId": "P1", "seq": 5,', // not JSON
        10: JSON.stringify({ plateId: 'P1', seq: -1, t0Ms: T0, sampleRateHz: 60, grams: [1] }), // schema
        15: samples(15, 'P2'), // the payload's id contradicts the topic's
      };
      for (let seq = 0; seq < 20; seq++) {
        if (bad[seq]) await plate.publishAsync(topic, bad[seq]!, { qos: 1 });
        await plate.publishAsync(topic, samples(seq), { qos: 1 });
      }
      const got = await collect(input, 20, isSamples);
      expect(
        got.map((i) => i.kind === 'device' && i.message.kind === 'plateSamples' && i.message.payload.seq),
      ).toEqual(Array.from({ length: 20 }, (_, i) => i));
      // The store time of a batch is its end: t0 + 6 samples at 60 Hz.
      expect(got[3]).toMatchObject({ tsMs: T0 + 300 + 100 });
      expect(input.rejected()).toEqual({ PAYLOAD_INVALID: 3 });
      const warned = (opts.log as ReturnType<typeof recordingLogger>).lines.filter(
        (l) => l.msg === 'MQTT message rejected',
      );
      expect(warned.map((l) => l.fields.error)).toEqual([
        expect.stringMatching(/samples: body is not JSON/),
        expect.stringMatching(/seq/),
        expect.stringMatching(/plateId P2 does not match the topic/),
      ]);
    } finally {
      await input.close();
      await forgetSession(clientId);
    }
  });

  it('keeps QoS 1 scans sent while the edge was away: its session persists across a reconnect', async () => {
    const clientId = `${storeId}-edge-session`;
    const first = await connectLiveInput(edgeOptions(clientId));
    await first.close();
    const scanner = await device('S1');
    const scan = (n: number) => ({
      scanId: `g1-scan-${n}`,
      gateId: 'g1',
      scannerId: 'S1',
      tsMs: T0 + n,
      qr: `WO1.code-${n}`,
    });
    for (let n = 1; n <= 3; n++)
      await scanner.publishAsync(topics.gateScan(storeId, 'g1'), JSON.stringify(scan(n)), { qos: 1 });
    const again = await connectLiveInput(edgeOptions(clientId));
    try {
      const got = await collect(again, 3, (i) => i.kind === 'device' && i.message.kind === 'gateScan');
      expect(got.map((i) => i.kind === 'device' && i.message.payload)).toEqual([scan(1), scan(2), scan(3)]);
      expect(got.map((i) => i.kind === 'device' && i.tsMs)).toEqual([T0 + 1, T0 + 2, T0 + 3]);
    } finally {
      await again.close();
      await forgetSession(clientId);
    }
  });

  it("stamps a status, which carries no time, with the store's time and not the edge's wall clock", async () => {
    const camA = await device('cam-a');
    const status = topics.deviceStatus(storeId, 'cam-a');
    await camA.publishAsync(
      status,
      JSON.stringify({ deviceId: 'cam-a', kind: 'camera', status: 'offline' }),
      {
        qos: 1,
        retain: true,
      },
    );
    const clientId = `${storeId}-edge-stamp`;
    const wallMs = T0 + 400 * 86_400_000; // the simulator's store clock is not the wall clock
    const input = await connectLiveInput({
      ...edgeOptions(clientId),
      nowMs: () => wallMs,
      untimedHoldMs: 5_000,
    });
    try {
      const first = input.next();
      await new Promise((r) => setTimeout(r, 100));
      // The retained status waits for the store to tell the time...
      await (await device('P1')).publishAsync(topics.plateSamples(storeId, 'P1'), samples(0), { qos: 1 });
      const got = [await first, ...(await collect(input, 1, isSamples))];
      // ...and goes first, stamped with the first time the store told.
      expect(got.map((i) => i?.kind === 'device' && [i.message.kind, i.tsMs])).toEqual([
        ['deviceStatus', T0 + 100],
        ['plateSamples', T0 + 100],
      ]);
    } finally {
      await input.close();
      await forgetSession(clientId);
    }
    // A store that tells no time: the status waits no longer than untimedHoldMs, then takes the wall clock.
    const quiet = await connectLiveInput({
      ...edgeOptions(clientId),
      nowMs: () => Date.now(),
      untimedHoldMs: 150,
    });
    try {
      const startedMs = Date.now();
      const [s] = await collect(quiet, 1, isStatus);
      expect(Date.now() - startedMs).toBeGreaterThanOrEqual(140);
      expect(s!.kind === 'device' && s!.tsMs).toBeGreaterThanOrEqual(startedMs);
    } finally {
      await quiet.close();
      await forgetSession(clientId);
      await camA.publishAsync(status, '', { qos: 1, retain: true });
    }
  });

  it('refuses to start on a login the broker refuses, naming it', async () => {
    const opts = edgeOptions(`${storeId}-edge-badlogin`);
    opts.mqtt.password = 'wrong';
    const err = await connectLiveInput(opts).catch((e: unknown) => e);
    expect(isWalkoutError(err, 'BROKER_ACCESS_REFUSED')).toBe(true);
    expect((err as Error).message).toContain(`${storeId}/edge-1`);
  });

  it('counts a message on a topic outside the tree (an open broker lets anything through)', async () => {
    // Mosquitto's accounts cannot publish outside the tree; an old anonymous broker can.
    const open = await openBroker();
    const opts = edgeOptions(`${storeId}-edge-open`);
    opts.mqtt.url = open.url;
    const input = await connectLiveInput(opts);
    const anyone = await mqtt.connectAsync(open.url, { reconnectPeriod: 0 });
    try {
      await anyone.publishAsync(`walkout/${storeId}/plates/P1/weights`, samples(0), { qos: 1 });
      await anyone.publishAsync(topics.plateSamples(storeId, 'P1'), samples(1), { qos: 1 });
      const [got] = await collect(input, 1, isSamples);
      expect(got).toMatchObject({ message: { payload: { seq: 1 } } });
      expect(input.rejected()).toEqual({ TOPIC_UNKNOWN: 1 });
    } finally {
      await anyone.endAsync();
      await input.close();
      await open.close();
    }
  });

  it('waits for a broker that is not up yet, and reads from it once it is', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const opts = edgeOptions(`${storeId}-edge-late`);
    opts.mqtt.url = `mqtt://127.0.0.1:${port}`;
    const connecting = connectLiveInput(opts);
    let settled = false;
    connecting.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(settled).toBe(false);
    const late = await openBroker(port);
    const input = await connecting;
    const anyone = await mqtt.connectAsync(late.url, { reconnectPeriod: 0 });
    try {
      await anyone.publishAsync(topics.plateSamples(storeId, 'P1'), samples(4), { qos: 1 });
      const [got] = await collect(input, 1, isSamples);
      expect(got).toMatchObject({ message: { payload: { seq: 4 } } });
    } finally {
      await anyone.endAsync();
      await input.close();
      await late.close();
    }
  });
});

/** A broker without accounts (aedes without hooks), as an old services.sh ran. */
async function openBroker(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle).listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise((r) => server.close(r));
    },
  };
}

describe('live input: camera streams', () => {
  const frame = async (cameraId: string, frameIndex: number) => ({
    cameraId,
    frameIndex,
    captureMs: T0 + frameIndex * 100,
    jpeg: await testJpeg(frameIndex),
  });

  it("finds streams in cameras' retained status, and a slow loop gets the newest frame, never a queue", async () => {
    const camA = await device('cam-a');
    const status = topics.deviceStatus(storeId, 'cam-a');
    await camA.publishAsync(
      status,
      JSON.stringify({
        deviceId: 'cam-a',
        kind: 'camera',
        status: 'online',
        streamUrl: cameras.streamUrl('cam-a'),
      }),
      { qos: 1, retain: true },
    );
    const clientId = `${storeId}-edge-frames`;
    const input = await connectLiveInput(edgeOptions(clientId));
    try {
      await until(() => cameras.clients('cam-a') === 1, 'the edge to open the announced stream');
      const frames = await Promise.all(Array.from({ length: 100 }, (_, i) => frame('cam-a', i + 1)));
      for (const f of frames) cameras.send('cam-a', f);
      await until(() => input.counters()['cam-a']?.received === 100, '100 frames received');
      const got = await collect(input, 1, (i) => i.kind === 'frame');
      // Memory held one frame: the newest, byte for byte as sent.
      expect(got[0]).toMatchObject({
        kind: 'frame',
        frame: { cameraId: 'cam-a', frameIndex: 100, captureMs: T0 + 10_000 },
      });
      expect(
        Buffer.from((got[0] as { frame: { jpeg: Uint8Array } }).frame.jpeg).equals(frames[99]!.jpeg),
      ).toBe(true);
      input.markProcessed('cam-a');
      expect(input.counters()['cam-a']).toEqual({ received: 100, processed: 1, dropped: 99 });

      // A loop slower than the camera: it takes a frame, works 30 ms, takes the next...
      let senderDone = false;
      void (async () => {
        for (let i = 101; i <= 160; i++) {
          cameras.send('cam-a', await frame('cam-a', i));
          await new Promise((r) => setTimeout(r, 2));
        }
        senderDone = true;
      })();
      const seen: number[] = [];
      let processed = 1;
      const IDLE = Symbol('idle');
      let pending: Promise<EdgeInput | null> | null = null;
      for (;;) {
        pending ??= input.next();
        const next = await Promise.race([
          pending,
          new Promise<typeof IDLE>((r) => setTimeout(() => r(IDLE), 50)),
        ]);
        if (next === IDLE) {
          if (senderDone && input.counters()['cam-a']!.received === 160 && input.waitingFrames() === 0) break;
          continue;
        }
        pending = null;
        if (next?.kind !== 'frame') continue;
        seen.push(next.frame.frameIndex);
        // Never more than one frame per camera held, however slow the loop.
        expect(input.waitingFrames()).toBeLessThanOrEqual(1);
        await new Promise((r) => setTimeout(r, 30));
        input.markProcessed('cam-a');
        processed += 1;
      }
      const c = input.counters()['cam-a']!;
      expect(c.received).toBe(160);
      expect(c.processed).toBe(processed);
      expect(c.received - c.processed).toBe(c.dropped);
      expect(c.dropped).toBeGreaterThan(c.processed);
      expect(seen.at(-1)).toBe(160);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    } finally {
      await input.close();
      await forgetSession(clientId);
      await camA.publishAsync(status, '', { qos: 1, retain: true });
    }
  });

  it('counts and skips malformed parts while the frames around them come through', async () => {
    const clientId = `${storeId}-edge-badparts`;
    const input = await connectLiveInput(
      edgeOptions(clientId, { discover: false, streams: { 'cam-b': cameras.streamUrl('cam-b') } }),
    );
    try {
      await until(() => cameras.clients('cam-b') === 1, 'the edge to open the stream');
      const got: number[] = [];
      const take = async () => {
        const [i] = await collect(input, 1, (x) => x.kind === 'frame');
        if (i?.kind === 'frame') got.push(i.frame.frameIndex);
        input.markProcessed('cam-b');
      };
      const jpeg = await testJpeg(7);
      cameras.send('cam-b', await frame('cam-b', 1));
      await take();
      cameras.sendRaw(
        'cam-b',
        Buffer.from(
          '--walkoutframe\r\nContent-Length: 3\r\nX-Capture-Time-Ms: 1\r\nX-Frame-Index: 2\r\n\r\nabc\r\n',
        ),
      );
      cameras.sendRaw(
        'cam-b',
        Buffer.concat([
          Buffer.from(
            '--walkoutframe\r\nContent-Length: ' + jpeg.length + '\r\nX-Capture-Time-Ms: 1\r\n\r\n',
          ),
          jpeg,
          Buffer.from('\r\n'),
        ]),
      );
      cameras.sendRaw('cam-b', Buffer.from('--walkoutframe\r\nContent-Length: many\r\n\r\n\x00\x01\x02\r\n'));
      cameras.send('cam-b', await frame('cam-b', 5));
      await take();
      cameras.send('cam-b', await frame('cam-b', 6));
      await take();
      expect(got).toEqual([1, 5, 6]);
      expect(input.rejected()).toEqual({ FRAME_INVALID: 3 });
      expect(input.counters()['cam-b']).toEqual({ received: 3, processed: 3, dropped: 0 });
    } finally {
      await input.close();
      await forgetSession(clientId);
    }
  });

  it('takes a stream that goes silent or is refused for dead, and connects again until it flows', async () => {
    const clientId = `${storeId}-edge-stall`;
    const input = await connectLiveInput(
      edgeOptions(clientId, {
        discover: false,
        streams: { 'cam-c': cameras.streamUrl('cam-c') },
        stallTimeoutMs: 150,
      }),
    );
    try {
      // The host answers and then sends nothing, as a hung camera.
      await until(() => cameras.connections('cam-c') >= 3, 'two reconnections');
      expect(input.streams()[0]!.failures).toBeGreaterThanOrEqual(2);
      // A camera still booting answers 503: asked again (with backoff) until it streams.
      cameras.refuseWith(503);
      const failures = input.streams()[0]!.failures;
      await until(() => input.streams()[0]!.failures >= failures + 2, 'refusals counted');
      cameras.refuseWith(null);
      await until(() => cameras.clients('cam-c') === 1, 'the stream opened');
      cameras.send('cam-c', await frame('cam-c', 3));
      const [f] = await collect(input, 1, (i) => i.kind === 'frame');
      expect(f).toMatchObject({ frame: { cameraId: 'cam-c', frameIndex: 3 } });
    } finally {
      await input.close();
      await forgetSession(clientId);
    }
  });

  it('reconnects a stream that drops, and stops asking a camera that says it is offline until it is back', async () => {
    const camB = await device('cam-b');
    const status = topics.deviceStatus(storeId, 'cam-b');
    const say = (s: 'online' | 'offline') =>
      camB.publishAsync(
        status,
        JSON.stringify({
          deviceId: 'cam-b',
          kind: 'camera',
          status: s,
          ...(s === 'online' ? { streamUrl: cameras.streamUrl('cam-b') } : {}),
        }),
        { qos: 1, retain: true },
      );
    await say('online');
    const clientId = `${storeId}-edge-reconnect`;
    const input = await connectLiveInput(edgeOptions(clientId));
    try {
      await until(() => cameras.clients('cam-b') === 1, 'the stream opened');
      const before = cameras.connections('cam-b');
      cameras.dropAll();
      await until(
        () => cameras.clients('cam-b') === 1 && cameras.connections('cam-b') === before + 1,
        'a reconnection',
      );
      cameras.send('cam-b', await frame('cam-b', 10));
      const [f] = await collect(input, 1, (i) => i.kind === 'frame');
      expect(f).toMatchObject({ frame: { frameIndex: 10 } });

      await say('offline');
      await until(() => cameras.clients('cam-b') === 0, 'the stream closed');
      const closedAt = cameras.connections('cam-b');
      await new Promise((r) => setTimeout(r, 300));
      expect(cameras.connections('cam-b')).toBe(closedAt);
      await say('online');
      await until(() => cameras.clients('cam-b') === 1, 'the stream opened again');
      expect(input.streams()).toEqual([expect.objectContaining({ cameraId: 'cam-b', connected: true })]);
    } finally {
      await input.close();
      await forgetSession(clientId);
      await camB.publishAsync(status, '', { qos: 1, retain: true });
    }
  });
});
