import { once } from 'node:events';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { isWalkoutError, topics } from '../../proto/index.ts';
import { collect, isSamples, isStatus, liveFixture, samples, T0 } from './live-fixture.ts';
import { connectLiveInput } from './live-input.ts';
import type { recordingLogger } from './test-log.ts';

/** The live input's device messages, from a real broker: order, rejections, sessions, times. */
const { storeId, device, edgeOptions, forgetSession } = liveFixture();

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

  it('reads only the devices’ topics: not an edge’s live state, nor anything outside the tree', async () => {
    // Mosquitto's accounts cannot publish outside the tree; an old anonymous broker can.
    const open = await openBroker();
    const opts = edgeOptions(`${storeId}-edge-open`);
    opts.mqtt.url = open.url;
    const input = await connectLiveInput(opts);
    const anyone = await mqtt.connectAsync(open.url, { reconnectPeriod: 0 });
    try {
      await anyone.publishAsync(`walkout/${storeId}/plates/P1/weights`, samples(0), { qos: 1 });
      await anyone.publishAsync(`walkout/${storeId}/edge/e1/tracks`, '{}', { qos: 1 });
      await anyone.publishAsync(topics.plateSamples(storeId, 'P1'), samples(1), { qos: 1 });
      const [got] = await collect(input, 1, isSamples);
      expect(got).toMatchObject({ message: { payload: { seq: 1 } } });
      expect(input.rejected()).toEqual({});
      expect(input.pendingMessages()).toBe(0);
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
