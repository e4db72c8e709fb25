import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, loadLayout, MJPEG_BOUNDARY, topics } from '../proto/index.ts';
import { testJpeg } from '../test/support/mjpeg-server.ts';
import { synthesize } from '../test/support/weight-trace.ts';
import { FusionConfig } from './fusion/config.ts';
import type { FusionOutput } from './fusion/outputs.ts';
import { liveFixture, until } from './io/live-fixture.ts';
import { connectLiveInput } from './io/live-input.ts';
import { recordingLogger } from './io/test-log.ts';
import { runLoop } from './loop.ts';
import { openDetector } from './vision/detector.ts';
import { buildFusion } from './wiring.ts';

/**
 * The loop on the live input (a real broker, a real MJPEG stream, the real detector) given bad
 * device messages and frames among good ones: each is counted by code, logged and skipped, and
 * the loop runs on to turn the good traffic after them into the store's outputs.
 */
const fx = liveFixture([
  { role: 'plate', deviceId: 'G1W1-P1' },
  { role: 'scanner', deviceId: 'scanner-in', gateIds: ['gate-in'] },
  { role: 'gate-sensor', deviceId: 'beam-in', gateIds: ['gate-in'] },
  { role: 'gate', deviceId: 'gate-in-ctl', gateIds: ['gate-in'] },
]);
const ref = new URL('../proto/stores/reference/', import.meta.url).pathname;
const catalog = loadCatalog(join(ref, 'catalog.json'));
const layout = loadLayout(join(ref, 'layout.json'), catalog);
/** A can of cola, as the reference planogram stocks plate G1W1-P1 with them. */
const CAN_G = catalog.items.find((i) => i.sku === 'cola-330')!.unitWeightG.mean;

let detector: Awaited<ReturnType<typeof openDetector>>;
beforeAll(async () => {
  detector = await openDetector({ reid: false, workers: 1 });
}, 20_000);
afterAll(async () => detector?.close());

describe('the edge loop given malformed input', () => {
  it('counts, logs and skips bad payloads and frames, and still turns the good traffic after them into outputs', async () => {
    const cameras = fx.cameras();
    const clientId = `${fx.storeId}-edge-loop`;
    const opts = fx.edgeOptions(clientId, { streams: { 'cam-11': cameras.streamUrl('cam-11') } });
    const input = await connectLiveInput(opts);
    const inputLog = opts.log as ReturnType<typeof recordingLogger>;
    const log = recordingLogger();
    const fusion = buildFusion(layout, catalog, { fusion: FusionConfig.parse({}), weight: {}, tracker: {} });
    const outputs: FusionOutput[] = [];
    const abort = new AbortController();
    let t0 = 0;
    const running = runLoop(
      {
        input,
        detector,
        fusion,
        link: null,
        publisher: null,
        log,
        wallMs: Date.now,
        detectInFlight: 1,
        onOutput: (o) => outputs.push(o),
      },
      abort.signal,
    );
    try {
      await until(() => cameras.clients('cam-11') === 1, 'the edge to open the stream');
      const plate = await fx.device('G1W1-P1');
      const scanner = await fx.device('scanner-in');
      const gate = await fx.device('gate-in-ctl');
      const beam = await fx.device('beam-in');
      // Store times: the bad input first, then 6 s of plate samples ending now, then the gate.
      t0 = Date.now() - 6_500;
      const plateTopic = topics.plateSamples(fx.storeId, 'G1W1-P1');
      const gateTopic = (leaf: 'scans' | 'commands' | 'passages') =>
        ({
          scans: topics.gateScan(fx.storeId, 'gate-in'),
          commands: topics.gateCommand(fx.storeId, 'gate-in'),
          passages: topics.gatePassage(fx.storeId, 'gate-in'),
        })[leaf];
      const send = (c: typeof plate, topic: string, body: unknown) =>
        c.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });

      // Bad device messages: not JSON, another plate's batch, a scan without its code, a deny
      // without a reason.
      await send(plate, plateTopic, '{"plateId": "G1W1-P1", "seq": 0,');
      await send(plate, plateTopic, { plateId: 'G1W1-P2', seq: 0, t0Ms: t0, sampleRateHz: 60, grams: [1] });
      await send(scanner, gateTopic('scans'), {
        scanId: 's-0',
        gateId: 'gate-in',
        scannerId: 'scanner-in',
        tsMs: t0,
      });
      await send(gate, gateTopic('commands'), {
        commandId: 'c-0',
        gateId: 'gate-in',
        tsMs: t0,
        action: 'deny',
      });
      // Bad frames: a part without a length, a JPEG cut short (both refused by the stream reader), and
      // one whose markers are right but whose data is not (only decoding finds it); then a good frame.
      cameras.sendRaw(
        'cam-11',
        Buffer.from(`--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: many\r\n\r\n`),
      );
      const jpeg = await testJpeg(40);
      const half = jpeg.subarray(0, jpeg.length >> 1);
      cameras.send('cam-11', { jpeg: half, captureMs: t0 - 1_000, frameIndex: 1 });
      const corrupt = Buffer.concat([half, Buffer.from([0xff, 0xd9])]);
      cameras.send('cam-11', { jpeg: corrupt, captureMs: t0, frameIndex: 2 });
      await until(() => input.counters()['cam-11']?.processed === 1, 'the corrupt frame to be taken');
      cameras.send('cam-11', { jpeg, captureMs: t0 + 100, frameIndex: 3 });

      // Good traffic: a can taken from G1W1-P1 (40 on it), and a shopper let in at the gate.
      const startMs = t0 + 200;
      const batches = synthesize(
        [{ plateId: 'G1W1-P1', load: (t) => (t < startMs + 3_000 ? 40 : 39) * CAN_G, noiseSdG: 0.8 }],
        { startMs, durationMs: 6_000, seed: 3 },
      );
      for (const b of batches) await send(plate, plateTopic, b.batch);
      const gateMs = startMs + 6_000;
      const scan = {
        scanId: 's-1',
        gateId: 'gate-in',
        scannerId: 'scanner-in',
        tsMs: gateMs,
        qr: 'WO1.code-1',
      };
      await send(scanner, gateTopic('scans'), scan);
      await send(gate, gateTopic('commands'), {
        commandId: 'c-1',
        gateId: 'gate-in',
        tsMs: gateMs + 100,
        action: 'open',
        scanId: 's-1',
      });
      await send(beam, gateTopic('passages'), {
        passageId: 'p-1',
        gateId: 'gate-in',
        sensorId: 'beam-in',
        tsMs: gateMs + 900,
        direction: 'in',
      });
      const taken = () =>
        outputs.find(
          (o) => o.kind === 'alert' && o.alert.kind === 'unattributed-event' && o.alert.plateId === 'G1W1-P1',
        );
      const entered = () =>
        outputs.find(
          (o) => o.kind === 'report' && o.report.body === 'visit' && o.report.visit.kind === 'MEMBER_ENTERED',
        );
      await until(() => taken() !== undefined && entered() !== undefined, 'the pick and the entry', 8_000);
    } finally {
      abort.abort();
    }
    const stats = await running;
    await input.close();
    await fx.forgetSession(clientId);

    expect(input.rejected()).toEqual({ PAYLOAD_INVALID: 4, FRAME_INVALID: 2 });
    const rejectedLines = inputLog.lines.filter((l) => l.msg.endsWith(' rejected'));
    expect(rejectedLines.map((l) => [l.msg, l.fields.code]).sort()).toEqual(
      [
        ['MQTT message rejected', 'PAYLOAD_INVALID'],
        ['MQTT message rejected', 'PAYLOAD_INVALID'],
        ['MQTT message rejected', 'PAYLOAD_INVALID'],
        ['MQTT message rejected', 'PAYLOAD_INVALID'],
        ['camera frame rejected', 'FRAME_INVALID'],
        ['camera frame rejected', 'FRAME_INVALID'],
      ].sort(),
    );
    // Nothing is dated before the store told its time (a tick at 0 dated every plate's silence 1970).
    const timeOf = (o: FusionOutput) =>
      o.kind === 'health'
        ? o.health.sinceMs
        : o.kind === 'alert'
          ? o.alert.tsMs
          : o.kind === 'look'
            ? o.request.deadlineMs
            : o.tsMs;
    expect(Math.min(...outputs.map(timeOf))).toBeGreaterThan(t0 - 60_000);
    expect(stats.detectionErrors).toBe(1);
    expect(stats.framesDetected).toBe(1);
    const skipped = log.lines.filter((l) => l.msg === 'frame skipped: detection failed');
    expect(skipped).toEqual([
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({ cameraId: 'cam-11', frameIndex: 2, code: 'IMAGE_INVALID' }),
      }),
    ]);
  }, 19_000);
});
