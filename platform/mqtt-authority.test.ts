import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerIdentity, filters, topics } from '../proto/index.ts';
import { startEmbeddedBroker } from './embedded-mqtt.ts';
import { connectDynsecAuthority, type MqttAuthority, parseBrokerLogin } from './mqtt-authority.ts';

/**
 * One contract, two brokers: Mosquitto with its dynamic-security plugin (as services.sh runs it)
 * and the embedded aedes broker. Whatever one lets through, the other must too.
 */
interface BrokerUnderTest {
  url: string;
  authority: MqttAuthority;
  close(): Promise<void>;
}

const brokers: { name: string; start: () => Promise<BrokerUnderTest> }[] = [
  {
    name: 'embedded aedes',
    start: async () => {
      const b = await startEmbeddedBroker();
      return { url: b.url, authority: b.authority, close: b.close };
    },
  },
];
if (process.env.MQTT_URL && process.env.MQTT_ADMIN) {
  const url = process.env.MQTT_URL;
  const admin = parseBrokerLogin(process.env.MQTT_ADMIN);
  brokers.push({
    name: 'Mosquitto (dynamic security)',
    start: async () => {
      const authority = await connectDynsecAuthority({ url, admin });
      return { url, authority, close: authority.close };
    },
  });
}

/** Long enough for a message that was let through to arrive on loopback. */
const SETTLE_MS = 300;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

describe.each(brokers)('broker accounts on $name', ({ start }) => {
  let broker: BrokerUnderTest;
  const clients: MqttClient[] = [];
  const usernames: string[] = [];
  // A store of its own per run: Mosquitto is shared with other test files.
  const storeId = `acl-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    broker = await start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => {
    // Mosquitto keeps its accounts in a file it rewrites on every change: leave it as found.
    await broker.authority.revokeAll(usernames);
    await broker.close();
  });

  async function connectAs(identity: BrokerIdentity): Promise<MqttClient> {
    // An account per connection: re-granting one username would drop its earlier connection.
    const username = `${storeId}/${identity.deviceId}/${randomUUID().slice(0, 8)}`;
    const password = randomUUID();
    usernames.push(username);
    await broker.authority.grant({ username, password, identity });
    const client = await mqtt.connectAsync(broker.url, { username, password, reconnectPeriod: 0 });
    client.on('error', () => {});
    clients.push(client);
    return client;
  }

  /** Everything an observer with rights to the whole store receives while `act` runs. */
  async function delivered(act: () => Promise<void>): Promise<string[]> {
    const observer = await connectAs({ role: 'observer', storeId, deviceId: `obs-${randomUUID()}` });
    const got: string[] = [];
    observer.on('message', (topic, body) => got.push(`${topic} ${body.toString()}`));
    await observer.subscribeAsync(filters.all(storeId), { qos: 1 });
    await act();
    await settle();
    return got;
  }

  it('refuses anonymous clients and wrong passwords', async () => {
    await expect(mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })).rejects.toThrow(
      /not authori[sz]ed|bad user/i,
    );
    usernames.push(`${storeId}/p`);
    await broker.authority.grant({
      username: `${storeId}/p`,
      password: 'right',
      identity: { role: 'plate', storeId, deviceId: 'p' },
    });
    await expect(
      mqtt.connectAsync(broker.url, { username: `${storeId}/p`, password: 'wrong', reconnectPeriod: 0 }),
    ).rejects.toThrow(/not authori[sz]ed|bad user/i);
  });

  it('lets a plate publish its own samples but not as another plate', async () => {
    const got = await delivered(async () => {
      const plateA = await connectAs({ role: 'plate', storeId, deviceId: 'A' });
      await plateA.publishAsync(topics.plateSamples(storeId, 'B'), 'forged', { qos: 0 });
      // A second connection: aedes drops a client whose publish it refuses (Mosquitto drops the message).
      const again = await connectAs({ role: 'plate', storeId, deviceId: 'A' });
      await again.publishAsync(topics.plateSamples(storeId, 'A'), 'own', { qos: 1 });
    });
    expect(got).toEqual([`${topics.plateSamples(storeId, 'A')} own`]);
  });

  it("lets only a gate's authority command it", async () => {
    const gate = 'gate-in';
    const command = topics.gateCommand(storeId, gate);
    const intruders: BrokerIdentity[] = [
      { role: 'plate', storeId, deviceId: 'P1' },
      { role: 'scanner', storeId, deviceId: 'scan-in', gateIds: [gate] },
      { role: 'gate-sensor', storeId, deviceId: 'beam-in', gateIds: [gate] },
      { role: 'camera', storeId, deviceId: 'cam-1' },
      { role: 'edge', storeId, deviceId: 'edge-1' },
      { role: 'gate', storeId, deviceId: 'ctl-out', gateIds: ['gate-out'] },
      { role: 'authority', storeId: `${storeId}-other`, deviceId: 'cloud' },
    ];
    const got = await delivered(async () => {
      for (const who of intruders) {
        const c = await connectAs(who);
        await c.publishAsync(command, `from ${who.role}`, { qos: 0 });
      }
      const authority = await connectAs({ role: 'authority', storeId, deviceId: 'cloud' });
      await authority.publishAsync(command, 'from authority', { qos: 1 });
      const controller = await connectAs({ role: 'gate', storeId, deviceId: 'ctl-in', gateIds: [gate] });
      await controller.publishAsync(command, 'from controller', { qos: 1 });
    });
    expect(got.sort()).toEqual([`${command} from authority`, `${command} from controller`]);
  });

  it('lets an edge publish its own live state but not as another edge', async () => {
    const own = [
      topics.edgeTracks(storeId, 'edge-A'),
      topics.edgeCarts(storeId, 'edge-A'),
      topics.edgePlates(storeId, 'edge-A'),
      topics.edgeAlerts(storeId, 'edge-A'),
      topics.deviceStatus(storeId, 'edge-A'),
    ];
    const got = await delivered(async () => {
      const forger = await connectAs({ role: 'edge', storeId, deviceId: 'edge-A' });
      await forger.publishAsync(topics.edgeTracks(storeId, 'edge-B'), 'forged', { qos: 0 });
      // A second connection, as above: aedes drops the connection that tried.
      const edge = await connectAs({ role: 'edge', storeId, deviceId: 'edge-A' });
      for (const topic of own) await edge.publishAsync(topic, 'own', { qos: 1 });
    });
    expect(got.sort()).toEqual(own.map((t) => `${t} own`).sort());
  });

  it('refuses subscriptions beyond the account, and delivers to those within it', async () => {
    const plate = await connectAs({ role: 'plate', storeId, deviceId: 'P9' });
    await expect(plate.subscribeAsync(filters.all(storeId))).rejects.toThrow();
    const edge = await connectAs({ role: 'edge', storeId, deviceId: 'edge-9' });
    await expect(edge.subscribeAsync(`walkout/${storeId}-other/#`)).rejects.toThrow();
    const controller = await connectAs({ role: 'gate', storeId, deviceId: 'ctl-9', gateIds: ['g9'] });
    await expect(controller.subscribeAsync(topics.gateCommand(storeId, 'g8'))).rejects.toThrow();
    const got: string[] = [];
    controller.on('message', (t) => got.push(t));
    await controller.subscribeAsync(topics.gateCommand(storeId, 'g9'), { qos: 1 });
    const authority = await connectAs({ role: 'authority', storeId, deviceId: 'cloud-9' });
    await authority.publishAsync(topics.gateCommand(storeId, 'g9'), 'open', { qos: 1 });
    await settle();
    expect(got).toEqual([topics.gateCommand(storeId, 'g9')]);
  });

  it('disconnects a revoked account and refuses it afterwards', async () => {
    const identity: BrokerIdentity = { role: 'plate', storeId, deviceId: 'R' };
    const username = `${storeId}/revoked`;
    await broker.authority.grant({ username, password: 'pw', identity });
    const plate = await mqtt.connectAsync(broker.url, { username, password: 'pw', reconnectPeriod: 0 });
    clients.push(plate);
    const closed = new Promise<void>((resolve) => plate.once('close', () => resolve()));
    await broker.authority.revoke(username);
    await closed;
    await expect(
      mqtt.connectAsync(broker.url, { username, password: 'pw', reconnectPeriod: 0 }),
    ).rejects.toThrow(/not authori[sz]ed|bad user/i);
    await broker.authority.revoke(username); // unknown by now: not an error
  });
});
