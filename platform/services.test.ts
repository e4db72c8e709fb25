import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type BrokerIdentity, topics } from '../proto/index.ts';
import { startEmbeddedBroker } from './embedded-mqtt.ts';
import { embeddedPostgresProblem, startEmbeddedPostgres } from './embedded-postgres.ts';
import { createLogger } from './log.ts';
import { type MqttAuthority, provisionClient } from './mqtt-authority.ts';
import { resolveServices } from './services.ts';

const log = createLogger('services.test');
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  vi.unstubAllEnvs();
});

async function connect(url: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  // reconnectPeriod 0: a test that kills a socket must not get a silent reconnect.
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...opts });
  clients.push(client);
  return client;
}

function nextMessage(client: MqttClient, topic: string): Promise<{ payload: string; retain: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${topic} within 5s`)), 5_000);
    client.on('message', (t, payload, packet) => {
      if (t !== topic) return;
      clearTimeout(timer);
      resolve({ payload: payload.toString(), retain: packet.retain });
    });
  });
}

// A store of its own keeps runs independent when they share one long-lived Mosquitto.
async function expectRetainedAndWill(url: string, authority: MqttAuthority | undefined): Promise<void> {
  const storeId = `services-test-${randomUUID().slice(0, 8)}`;
  const as = async (identity: BrokerIdentity, opts: mqtt.IClientOptions = {}) =>
    connect(url, {
      ...(await provisionClient(authority, `${storeId}/${identity.deviceId}`, identity)),
      ...opts,
    });
  const status = topics.deviceStatus(storeId, 'P1');

  const publisher = await as({ role: 'plate', storeId, deviceId: 'P1' });
  await publisher.publishAsync(status, 'hello', { qos: 1, retain: true });
  const late = await as({ role: 'observer', storeId, deviceId: 'late' });
  const retained = nextMessage(late, status);
  await late.subscribeAsync(status, { qos: 1 });
  expect(await retained).toEqual({ payload: 'hello', retain: true });
  await publisher.publishAsync(status, '', { qos: 1, retain: true }); // clear it

  const watcher = await as({ role: 'observer', storeId, deviceId: 'watcher' });
  const willTopic = topics.deviceStatus(storeId, 'P2');
  await watcher.subscribeAsync(willTopic, { qos: 1 });
  const will = nextMessage(watcher, willTopic);
  const doomed = await as(
    { role: 'plate', storeId, deviceId: 'P2' },
    { will: { topic: willTopic, payload: Buffer.from('gone'), qos: 1 } },
  );
  doomed.stream.destroy(); // an abrupt disconnect, unlike end(), must trigger the will
  expect((await will).payload).toBe('gone');
}

async function expectSelectOne(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ one: number }>('select 1 as one');
    expect(rows).toEqual([{ one: 1 }]);
  } finally {
    await client.end();
  }
}

describe.each([
  { mode: 'as configured by the environment', forceEmbedded: false },
  { mode: 'with MQTT_URL/DATABASE_URL unset', forceEmbedded: true },
])('resolveServices $mode', ({ forceEmbedded }) => {
  it('gives a broker with retained messages and wills, and a database', async (ctx) => {
    if (forceEmbedded) {
      vi.stubEnv('MQTT_URL', undefined);
      vi.stubEnv('DATABASE_URL', undefined);
    }
    const wantsEmbeddedDb = !process.env.DATABASE_URL;
    const problem = wantsEmbeddedDb ? await embeddedPostgresProblem() : undefined;
    if (problem) {
      log.warn('skipping embedded postgres test', { problem });
      ctx.skip(problem);
    }

    const services = await resolveServices({ needMqtt: true, needDatabase: true, log });
    try {
      expect(services.embedded).toEqual({ mqtt: !process.env.MQTT_URL, database: wantsEmbeddedDb });
      await expectRetainedAndWill(services.mqttUrl!, services.mqttAuthority);
      await expectSelectOne(services.databaseUrl!);
    } finally {
      await services.close();
    }
  });

  it('starts nothing that was not asked for', async () => {
    if (forceEmbedded) vi.stubEnv('MQTT_URL', undefined);
    const services = await resolveServices({ needMqtt: false, needDatabase: false, log });
    expect(services).toMatchObject({ embedded: { mqtt: false, database: false } });
    expect(services.mqttUrl).toBeUndefined();
    expect(services.databaseUrl).toBeUndefined();
    await services.close();
  });
});

describe('embedded services directly', () => {
  it('embedded broker supports retained messages and last wills, and closes with clients attached', async () => {
    const broker = await startEmbeddedBroker();
    expect(broker.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    try {
      await expectRetainedAndWill(broker.url, broker.authority);
    } finally {
      await broker.close();
      await broker.close(); // idempotent
    }
  });

  it('embedded postgres answers queries and removes a non-persistent data dir on stop', async (ctx) => {
    const problem = await embeddedPostgresProblem();
    if (problem) {
      log.warn('skipping embedded postgres test', { problem });
      ctx.skip(problem);
    }
    const db = await startEmbeddedPostgres({ persistent: false, log });
    try {
      expect(db.url).toMatch(/^postgres:\/\/walkout:walkout@127\.0\.0\.1:\d+\/walkout$/);
      await expectSelectOne(db.url);
    } finally {
      await db.stop();
    }
    expect(existsSync(db.dataDir)).toBe(false);
  });
});
