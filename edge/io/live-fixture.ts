import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll } from 'vitest';
import { startEmbeddedBroker } from '../../platform/embedded-mqtt.ts';
import {
  connectDynsecAuthority,
  type MqttAuthority,
  parseBrokerLogin,
} from '../../platform/mqtt-authority.ts';
import type { BrokerIdentity } from '../../proto/index.ts';
import { startTestCameraHost, type TestCameraHost } from '../../test/support/mjpeg-server.ts';
import type { EdgeInput } from '../stages.ts';
import type { LiveInput, LiveInputOptions } from './live-input.ts';
import { recordingLogger } from './test-log.ts';

/**
 * What the live input's tests share: a real broker (Mosquitto with its dynamic security, as
 * services.sh runs it; the embedded aedes broker when MQTT_URL is unset) with a store of the test
 * file's own and accounts for its devices (and the `extra` ones the file asks for), and a real HTTP
 * MJPEG host. Call once per test file: it registers the hooks that set up and tear down.
 */
export function liveFixture(extra: readonly Omit<BrokerIdentity, 'storeId'>[] = []) {
  const storeId = `io-${randomUUID().slice(0, 8)}`;
  let url = '';
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
    { role: 'authority', storeId, deviceId: 'auth-1' },
    { role: 'gate', storeId, deviceId: 'gate-ctl', gateIds: ['g1'] },
    ...extra.map((e) => ({ ...e, storeId })),
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

  return {
    storeId,
    cameras: () => cameras,
    url: () => url,
    /** A device's broker login. */
    login: (deviceId: string) => logins.get(deviceId)!,
    /** A device of the store, connected with its own account. */
    async device(deviceId: string): Promise<MqttClient> {
      const c = await mqtt.connectAsync(url, {
        ...logins.get(deviceId)!,
        clientId: `${storeId}-${deviceId}`,
        reconnectPeriod: 0,
      });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    /** The edge's options, with its account and short reconnection waits. */
    edgeOptions(clientId: string, cameraOpts: LiveInputOptions['cameras'] = {}): LiveInputOptions {
      return {
        mqtt: { url, storeId, ...logins.get('edge-1')!, clientId, reconnectPeriodMs: 200 },
        cameras: { reconnectInitialMs: 50, reconnectMaxMs: 200, ...cameraOpts },
        log: recordingLogger(),
      };
    },
    /** Ends an edge's persistent session on the broker, so the test leaves no queue behind. */
    async forgetSession(clientId: string): Promise<void> {
      const c = await mqtt.connectAsync(url, {
        ...logins.get('edge-1')!,
        clientId,
        clean: true,
        reconnectPeriod: 0,
      });
      await c.endAsync();
    },
  };
}

export const T0 = 1_767_603_600_000;

export async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The next `n` inputs that `keep` accepts (others are passed over). */
export async function collect(
  input: LiveInput,
  n: number,
  keep: (i: EdgeInput) => boolean,
): Promise<EdgeInput[]> {
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

/** A plate batch: six samples from t0 = T0 + seq·100 ms. */
export const samples = (seq: number, plateId = 'P1') =>
  JSON.stringify({
    plateId,
    seq,
    t0Ms: T0 + seq * 100,
    sampleRateHz: 60,
    grams: [500, 500.5, 501, 500, 499, 500],
  });
export const isSamples = (i: EdgeInput) => i.kind === 'device' && i.message.kind === 'plateSamples';
export const isStatus = (i: EdgeInput) => i.kind === 'device' && i.message.kind === 'deviceStatus';
