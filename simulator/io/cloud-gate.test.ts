import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GateCommand, GateScan } from '../../proto/index.ts';
import type { DeviceMessage } from '../run/engine.ts';
import { CLOUD_UNAVAILABLE, commandFor, PartyPasses, withCloudGates } from './cloud-gate.ts';
import type { DeviceSink } from './device-sink.ts';
import { InFlight } from './in-flight.ts';

const scan = (n: number, qr: string, gateId = 'gate-in'): GateScan => ({
  scanId: `${gateId}-scan-${n}`,
  gateId,
  scannerId: 'scanner-in',
  tsMs: 1000 * n,
  qr,
});

describe('a cloud decision as a gate command', () => {
  it('opens on open and denies with the cloud’s reason on deny', () => {
    expect(commandFor(scan(1, 'a'), { decision: 'open', visitId: 'v-1', party: 2 }, 5)).toEqual({
      commandId: 'gate-in-scan-1-cmd',
      gateId: 'gate-in',
      tsMs: 5,
      scanId: 'gate-in-scan-1',
      action: 'open',
      visitId: 'v-1',
      party: 2,
    });
    expect(commandFor(scan(2, 'a'), { decision: 'deny', reason: 'expired' }, 6)).toMatchObject({
      action: 'deny',
      reason: 'expired',
      scanId: 'gate-in-scan-2',
    });
  });

  it('lets a party’s later members through on the same code, as many as the cloud let in, for a while', () => {
    const passes = new PartyPasses();
    passes.grant('g', 'qr', { visitId: 'v-3', party: 3 }, 0);
    passes.grant('g', 'solo', { visitId: 'v-1', party: 1 }, 0);
    expect(passes.take('g', 'qr', 1000)).toEqual({ visitId: 'v-3', party: 3 });
    expect(passes.take('other-gate', 'qr', 1000)).toBeNull();
    expect(passes.take('g', 'qr', 2000)).toEqual({ visitId: 'v-3', party: 3 });
    expect(passes.take('g', 'qr', 3000)).toBeNull();
    expect(passes.take('g', 'solo', 1000)).toBeNull();
    passes.grant('g', 'late', { visitId: 'v-2', party: 2 }, 0);
    expect(passes.take('g', 'late', 10 * 60_000)).toBeNull();
  });
});

describe('gates asking a cloud over HTTP', () => {
  let server: Server;
  let url: string;
  const seen: { path: string; auth: string | undefined; qr: string }[] = [];
  const body = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    return JSON.parse(text) as { qr: string };
  };

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const { qr } = await body(req);
      seen.push({ path: req.url ?? '', auth: req.headers.authorization, qr });
      res.setHeader('content-type', 'application/json');
      if (qr === 'broken') {
        res.statusCode = 500;
        res.end(JSON.stringify({ error: { code: 'INTERNAL', message: 'INTERNAL: boom' } }));
      } else if (qr.startsWith('good')) {
        res.end(JSON.stringify({ decision: 'open', visitId: 'v1', party: 2, message: 'Welcome in.' }));
      } else {
        res.end(JSON.stringify({ decision: 'deny', reason: 'expired', message: 'Show the fresh code.' }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('posts each entry scan with the device credential, answers through command(), and publishes the command', async () => {
    const published: DeviceMessage[] = [];
    const inner: DeviceSink = {
      publish: (m) => void published.push(m),
      get published() {
        return published.length;
      },
      close: async () => {},
    };
    const commands: GateCommand[] = [];
    const inFlight = new InFlight();
    const sink = withCloudGates(inner, { command: (c) => commands.push(c) > 0 }, () => 42, {
      baseUrl: url,
      device: { id: 'gate-abc', secret: 's3cret' },
      storeId: 'reference',
      entryGateIds: new Set(['gate-in']),
      inFlight,
    });
    const send = (s: GateScan) =>
      sink.publish({
        tsMs: s.tsMs,
        kind: 'gateScan',
        deviceId: s.scannerId,
        topic: 't',
        payload: s,
        retain: false,
      });
    send(scan(1, 'good-party'));
    send(scan(2, 'stale'));
    send(scan(3, 'broken'));
    send(scan(4, 'good-elsewhere', 'gate-out'));
    expect(inFlight.size).toBe(3);
    await inFlight.settled();
    // The party's second member: opened by the gate itself, without asking again.
    send(scan(5, 'good-party'));
    expect(inFlight.size).toBe(0);
    await sink.close();

    expect(seen.map((s) => s.path)).toEqual(Array(3).fill('/v1/gates/gate-in/scans'));
    expect(seen[0]!.auth).toBe(`Basic ${Buffer.from('gate-abc:s3cret').toString('base64')}`);
    const byScan = Object.fromEntries(commands.map((c) => [c.scanId, c]));
    expect(byScan['gate-in-scan-1']).toMatchObject({ action: 'open', tsMs: 42 });
    expect(byScan['gate-in-scan-2']).toMatchObject({ action: 'deny', reason: 'expired' });
    expect(byScan['gate-in-scan-3']).toMatchObject({ action: 'deny', reason: CLOUD_UNAVAILABLE });
    expect(byScan['gate-in-scan-5']).toMatchObject({ action: 'open', tsMs: 5000 });
    expect(commands).toHaveLength(4);
    const out = published.filter((m) => m.kind === 'gateCommand');
    expect(out.map((m) => m.topic)).toEqual(Array(4).fill('walkout/reference/gates/gate-in/commands'));
    expect(out.every((m) => m.deviceId === 'gate-in')).toBe(true);
  });
});
