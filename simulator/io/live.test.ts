import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionClient } from '../../platform/mqtt-authority.ts';
import { type ResolvedServices, resolveServices } from '../../platform/services.ts';
import { type BrokerIdentity, decodeMessage, filters, topics } from '../../proto/index.ts';
import { systemWallClock } from '../core/clock.ts';
import { runSession } from '../run/session.ts';
import { loadScenario } from '../scenario/load.ts';
import { connectDevices } from './mqtt-devices.ts';
import { createOfflineApp } from './offline-app.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
let services: ResolvedServices;

beforeAll(async () => {
  services = await resolveServices({ needMqtt: true, log: silent });
});
afterAll(async () => {
  await services.close();
});

/** A test's own client, with an account of the given role on brokers that have accounts. */
async function connectAs(clientId: string, identity: BrokerIdentity) {
  const login = await provisionClient(services.mqttAuthority, `${identity.storeId}/${clientId}`, identity);
  return mqtt.connectAsync(services.mqttUrl!, { ...login, clientId });
}

describe('live device traffic on a real broker', () => {
  it('publishes only messages that validate against proto, and every one arrives', async () => {
    const loaded = loadScenario('groups-and-handoffs');
    // A store id of its own, so runs sharing the broker do not see each other's retained messages.
    const storeId = `live-test-${process.pid}-${Date.now()}`;
    const layout = { ...loaded.layout, storeId };
    const observer = await connectAs(`observer-${storeId}`, {
      role: 'observer',
      storeId,
      deviceId: 'observer',
    });
    const received: Record<string, number> = {};
    const invalid: string[] = [];
    const statuses = new Map<string, string>();
    observer.on('message', (topic, body) => {
      try {
        const msg = decodeMessage(topic, body);
        received[msg.kind] = (received[msg.kind] ?? 0) + 1;
        if (msg.kind === 'deviceStatus') statuses.set(msg.id, msg.payload.status);
      } catch (err) {
        invalid.push((err as Error).message);
      }
    });
    await observer.subscribeAsync(filters.all(storeId), { qos: 1 });
    const app = createOfflineApp(storeId, 'live');
    const published: Record<string, number> = {};
    const summary = await runSession({
      loaded: { ...loaded, layout },
      seed: 11,
      minutes: 1.5,
      out: mkdtempSync(join(tmpdir(), 'walkout-live-')),
      app,
      authority: { kind: 'local', verify: app.verify },
      sink: async (engine) => {
        const devices = await connectDevices({
          url: services.mqttUrl!,
          authority: services.mqttAuthority,
          storeId,
          devices: engine.devices(),
          log: silent,
        });
        return {
          publish: (m) => {
            published[m.kind] = (published[m.kind] ?? 0) + 1;
            devices.publish(m);
          },
          get published() {
            return devices.published;
          },
          close: () => devices.close(),
        };
      },
      speed: 40,
      wall: systemWallClock,
      mode: 'live',
    });
    await new Promise((r) => setTimeout(r, 500));
    await observer.endAsync();
    expect(invalid).toEqual([]);
    expect(summary.visits).toBeGreaterThan(0);
    expect(published.plateSamples).toBeGreaterThan(80 * 10 * 60);
    for (const kind of ['plateSamples', 'gateScan', 'gateCommand', 'gatePassage'] as const) {
      expect(received[kind], kind).toBe(published[kind]);
    }
    // Every device said online, then offline when the store shut down.
    expect(statuses.size).toBe(layout.plates.length + layout.cameras.length + layout.gates.length * 3);
    expect([...statuses.values()].every((s) => s === 'offline')).toBe(true);
    expect(received.deviceStatus).toBe(statuses.size * 2);
  });

  it('rejects, counts and logs a malformed gate command, and still takes the next good one', async () => {
    const storeId = `cmd-test-${process.pid}-${Date.now()}`;
    const warnings: string[] = [];
    const log = { ...silent, warn: (msg: string) => warnings.push(msg) };
    const devices = await connectDevices({
      url: services.mqttUrl!,
      authority: services.mqttAuthority,
      storeId,
      devices: [{ deviceId: 'gate-in', kind: 'gate', gateId: 'gate-in' }],
      log,
    });
    const got: string[] = [];
    devices.onCommand((cmd) => got.push(cmd.commandId));
    const cloud = await connectAs(`cloud-${storeId}`, { role: 'authority', storeId, deviceId: 'cloud' });
    const topic = topics.gateCommand(storeId, 'gate-in');
    await cloud.publishAsync(topic, '{"commandId":"c1","gateId":"gate-in","tsMs":1,"action":"deny"}', {
      qos: 1,
    });
    await cloud.publishAsync(topic, 'not json', { qos: 1 });
    await cloud.publishAsync(
      topic,
      JSON.stringify({ commandId: 'c2', gateId: 'gate-in', tsMs: 2, action: 'open', scanId: 's1' }),
      { qos: 1 },
    );
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await cloud.endAsync();
    await devices.close();
    expect(got).toEqual(['c2']);
    expect(devices.rejected).toBe(2);
    expect(warnings).toEqual(['rejected gate command', 'rejected gate command']);
  });

  it('announces every device offline through its last will when the simulator process dies', async (ctx) => {
    // The simulator process makes its devices' accounts with MQTT_ADMIN; an embedded broker's
    // accounts live in this test's process, where another process cannot reach them.
    if (services.embedded.mqtt) ctx.skip('needs an external broker with MQTT_ADMIN');
    const out = mkdtempSync(join(tmpdir(), 'walkout-will-'));
    const root = new URL('../../', import.meta.url).pathname;
    const loaded = loadScenario('baseline');
    const expected =
      loaded.layout.plates.length + loaded.layout.cameras.length + loaded.layout.gates.length * 3;
    const observer = await connectAs(`will-observer-${process.pid}`, {
      role: 'observer',
      storeId: loaded.layout.storeId,
      deviceId: 'will-observer',
    });
    const status = new Map<string, string>();
    observer.on('message', (topic, body) => {
      const msg = decodeMessage(topic, body);
      if (msg.kind === 'deviceStatus') status.set(msg.id, msg.payload.status);
    });
    await observer.subscribeAsync(filters.deviceStatus(loaded.layout.storeId), { qos: 1 });
    const child = spawn(
      'node',
      [
        '--import',
        'tsx',
        'simulator/cli/sim.ts',
        '--scenario',
        'baseline',
        '--minutes',
        '30',
        '--no-cameras',
        '--camera-port',
        '0',
        '--no-progress',
        '--out',
        out,
      ],
      {
        cwd: root,
        env: { ...process.env, MQTT_URL: services.mqttUrl, LOG_LEVEL: 'warn' },
        stdio: 'ignore',
      },
    );
    const until = async (pred: () => boolean, ms: number) => {
      for (const end = Date.now() + ms; !pred() && Date.now() < end; )
        await new Promise((r) => setTimeout(r, 50));
      return pred();
    };
    const allAre = (s: string) => status.size === expected && [...status.values()].every((v) => v === s);
    expect(await until(() => allAre('online'), 30_000)).toBe(true);
    child.kill('SIGKILL');
    expect(await until(() => allAre('offline'), 10_000)).toBe(true);
    await observer.endAsync();
  });
});
