import { beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../proto/index.ts';
import { type TestCameraHost, testJpeg } from '../../test/support/mjpeg-server.ts';
import type { EdgeInput } from '../stages.ts';
import { collect, liveFixture, T0, until } from './live-fixture.ts';
import { connectLiveInput } from './live-input.ts';

/** The live input's camera frames, from a real HTTP MJPEG host: discovery, newest frame wins, failures. */
const f = liveFixture();
const { storeId, device, edgeOptions, forgetSession } = f;
let cameras: TestCameraHost;
beforeAll(() => {
  cameras = f.cameras();
});

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
