import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../platform/embedded-mqtt.ts';
import { filters, StoreLayout, topics } from '../../proto/index.ts';
import { startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { createOperator } from '../operators/service.ts';
import { placeDevice } from './device-identity.ts';

const layout = StoreLayout.parse(
  JSON.parse(readFileSync(new URL('../../proto/stores/reference/layout.json', import.meta.url), 'utf8')),
);

// Mosquitto as services.sh runs it when the environment names it; the embedded broker otherwise.
const external = process.env.MQTT_URL && process.env.MQTT_ADMIN;
let embedded: EmbeddedBroker | undefined;
let brokerUrl: string;
let cloud: TestCloud;
let admin: string;
const storeId = `dev-${process.pid}-${Date.now()}`;

beforeAll(async () => {
  if (external) {
    brokerUrl = process.env.MQTT_URL!;
    cloud = await startTestCloud('devices', {
      MQTT_URL: process.env.MQTT_URL!,
      MQTT_ADMIN: process.env.MQTT_ADMIN!,
    });
  } else {
    embedded = await startEmbeddedBroker();
    brokerUrl = embedded.url;
    cloud = await startTestCloud('devices', {}, { broker: embedded.authority });
  }
  await createOperator(
    cloud.ctx.db,
    { email: 'a@example.test', password: 'operator password 1', name: 'A', role: 'admin', stores: [] },
    1024,
  );
  const r = await cloud.call('POST', '/v1/ops/sessions', {
    body: { email: 'a@example.test', password: 'operator password 1' },
  });
  admin = r.body.accessToken;
  await cloud.call('POST', '/v1/ops/stores', { token: admin, body: { id: storeId, name: 'Devices' } });
  const up = await cloud.call('PUT', `/v1/ops/stores/${storeId}/layout`, {
    token: admin,
    body: { ...layout, storeId },
  });
  expect(up.status).toBe(200);
});
afterAll(async () => {
  await cloud?.stop();
  await embedded?.close();
});

const issue = async (body: Record<string, unknown>) =>
  cloud.call('POST', `/v1/ops/stores/${storeId}/devices`, { token: admin, body });

describe('the device API', () => {
  it('issues a broker login with the device, good for its own topics only', async () => {
    const plate = await issue({ kind: 'plate', layoutId: 'G1W1-P1' });
    expect(plate.status).toBe(201);
    expect(plate.body).toMatchObject({ kind: 'plate', layoutId: 'G1W1-P1', gateIds: null });
    expect(plate.body.mqtt).toEqual({ username: plate.body.id, password: plate.body.secret });
    const edge = await issue({ kind: 'edge' });
    const seen: string[] = [];
    const watcher = await mqtt.connectAsync(brokerUrl, { ...edge.body.mqtt, reconnectPeriod: 0 });
    watcher.on('message', (t, b) => seen.push(`${t} ${b}`));
    await watcher.subscribeAsync(filters.all(storeId), { qos: 1 });
    const device = await mqtt.connectAsync(brokerUrl, { ...plate.body.mqtt, reconnectPeriod: 0 });
    device.on('error', () => {});
    await device.publishAsync(topics.plateSamples(storeId, 'G1W1-P1'), 'own', { qos: 1 });
    await device.publishAsync(topics.plateSamples(storeId, 'G1W1-P2'), 'forged', { qos: 0 });
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([`${topics.plateSamples(storeId, 'G1W1-P1')} own`]);

    const gone = new Promise<void>((resolve) => watcher.once('close', () => resolve()));
    const revoked = await cloud.call('DELETE', `/v1/ops/stores/${storeId}/devices/${edge.body.id}`, {
      token: admin,
    });
    expect(revoked.body).toEqual({ revoked: true });
    await gone;
    await expect(mqtt.connectAsync(brokerUrl, { ...edge.body.mqtt, reconnectPeriod: 0 })).rejects.toThrow(
      /not authori[sz]ed|bad user/i,
    );
    await device.endAsync(true);
  });

  it("lets the store's authority command a gate on the broker, and its controller hear it", async () => {
    const controller = (await issue({ kind: 'gate', gateIds: ['gate-in'] })).body;
    const authority = (await issue({ kind: 'authority' })).body;
    const camera = (await issue({ kind: 'camera', layoutId: 'cam-11' })).body;
    const gate = await mqtt.connectAsync(brokerUrl, { ...controller.mqtt, reconnectPeriod: 0 });
    const heard: string[] = [];
    gate.on('message', (_t, b) => heard.push(b.toString()));
    await gate.subscribeAsync(topics.gateCommand(storeId, 'gate-in'), { qos: 1 });
    const cam = await mqtt.connectAsync(brokerUrl, { ...camera.mqtt, reconnectPeriod: 0 });
    cam.on('error', () => {});
    await cam.publishAsync(topics.gateCommand(storeId, 'gate-in'), 'from camera', { qos: 0 });
    const cloudClient = await mqtt.connectAsync(brokerUrl, { ...authority.mqtt, reconnectPeriod: 0 });
    await cloudClient.publishAsync(topics.gateCommand(storeId, 'gate-in'), 'from authority', { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(heard).toEqual(['from authority']);
    await Promise.all([gate, cam, cloudClient].map((c) => c.endAsync(true)));
  });

  it('refuses a device it cannot place in the layout, naming what is wrong', async () => {
    const r = await issue({ kind: 'plate', layoutId: 'no-such-plate' });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('no-such-plate');
    const g = await issue({ kind: 'gate', gateIds: ['gate-nowhere'] });
    expect(g.status).toBe(400);
    expect(g.body.error.message).toContain('gate-nowhere');
  });
});

describe('the gate endpoint', () => {
  it('takes scans only from a gate controller, and only for its gates', async () => {
    const scan = (creds: { id: string; secret: string }, gateId: string) =>
      cloud.call('POST', `/v1/gates/${gateId}/scans`, {
        basic: `${creds.id}:${creds.secret}`,
        body: { qr: 'x.y.z' },
      });
    const edge = (await issue({ kind: 'edge' })).body;
    const byEdge = await scan(edge, 'gate-in');
    expect(byEdge.status).toBe(403);
    expect(byEdge.body.error.code).toBe('DEVICE_KIND_REFUSED');
    const authority = (await issue({ kind: 'authority' })).body;
    expect((await scan(authority, 'gate-in')).body.error.code).toBe('DEVICE_KIND_REFUSED');

    const entry = (await issue({ kind: 'gate', gateIds: ['gate-in'] })).body;
    expect(entry.gateIds).toEqual(['gate-in']);
    const elsewhere = await scan(entry, 'gate-out');
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error.code).toBe('GATE_NOT_CONTROLLED');
    expect((await scan(entry, 'gate-in')).body).toMatchObject({ decision: 'deny', reason: 'bad_signature' });

    const every = (await issue({ kind: 'gate' })).body;
    expect(every.gateIds).toEqual(layout.gates.map((g) => g.id));
    expect((await scan(every, 'gate-out')).status).toBe(200);
  });
});

describe('placeDevice', () => {
  it("derives a scanner's gate from the layout and needs a layout for devices in it", () => {
    expect(placeDevice('scanner', layout, { layoutId: 'scanner-out' })).toEqual({
      gateIds: ['gate-out'],
      layoutId: 'scanner-out',
    });
    expect(() => placeDevice('camera', null, { layoutId: 'cam-11' })).toThrow(/no layout/);
    expect(() => placeDevice('gate', null, {})).toThrow(/gateIds/);
    expect(placeDevice('gate', null, { gateIds: ['g1'] })).toEqual({ gateIds: ['g1'], layoutId: null });
    expect(() => placeDevice('edge', layout, { gateIds: ['gate-in'] })).toThrow(/edge/);
    expect(placeDevice('authority', null, {})).toEqual({ gateIds: null, layoutId: null });
  });
});
