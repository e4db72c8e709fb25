import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../platform/log.ts';
import { type MqttAuthority, provisionClients } from '../../platform/mqtt-authority.ts';
import {
  type DeviceStatus,
  decodeMessage,
  type GateCommand,
  isWalkoutError,
  topics,
} from '../../proto/index.ts';
import type { DeviceInfo, DeviceMessage } from '../run/engine.ts';
import type { DeviceSink } from './device-sink.ts';

export interface MqttDevicesOptions {
  url: string;
  storeId: string;
  devices: DeviceInfo[];
  /** Extra fields for a device's online status (a camera's stream URL). */
  statusExtra?: (device: DeviceInfo) => Partial<DeviceStatus>;
  log: Logger;
  /** Makes each device its own broker account first; absent, devices connect anonymously. */
  authority?: MqttAuthority | undefined;
}

/** A simulated device's broker account: its store and id, so two stores' devices never share one. */
export const deviceUsername = (storeId: string, deviceId: string) => `${storeId}/${deviceId}`;

export interface MqttDevices extends DeviceSink {
  /** Gate commands arriving for our gates, already validated. */
  onCommand(handler: (cmd: GateCommand) => void): void;
  readonly rejected: number;
}

/**
 * Every device is its own MQTT client with its own last will, as in a real store: when one
 * dies, the broker tells everyone that exact device went offline.
 */
export async function connectDevices(opts: MqttDevicesOptions): Promise<MqttDevices> {
  const clients = new Map<string, MqttClient>();
  const statusFor = (device: DeviceInfo, status: 'online' | 'offline') =>
    JSON.stringify({
      deviceId: device.deviceId,
      kind: device.kind,
      status,
      ...(status === 'online' ? opts.statusExtra?.(device) : {}),
    } satisfies DeviceStatus);
  const logins = await provisionClients(
    opts.authority,
    opts.devices.map((device) => ({
      username: deviceUsername(opts.storeId, device.deviceId),
      identity: {
        role: device.kind,
        storeId: opts.storeId,
        deviceId: device.deviceId,
        ...(device.gateId ? { gateIds: [device.gateId] } : {}),
      },
    })),
  );
  await Promise.all(
    opts.devices.map(async (device, i) => {
      const login = logins[i]!;
      const client = await mqtt.connectAsync(opts.url, {
        ...login,
        clientId: `walkout-sim-${opts.storeId}-${device.deviceId}`,
        clean: true,
        reconnectPeriod: 1000,
        will: {
          topic: topics.deviceStatus(opts.storeId, device.deviceId),
          payload: Buffer.from(statusFor(device, 'offline')),
          retain: true,
          qos: 1,
        },
      });
      client.on('error', (err) =>
        opts.log.warn('device connection error', { deviceId: device.deviceId, error: err.message }),
      );
      await client.publishAsync(
        topics.deviceStatus(opts.storeId, device.deviceId),
        statusFor(device, 'online'),
        { retain: true, qos: 1 },
      );
      clients.set(device.deviceId, client);
    }),
  );
  let published = 0;
  let rejected = 0;
  const handlers: ((cmd: GateCommand) => void)[] = [];
  for (const device of opts.devices.filter((d) => d.kind === 'gate')) {
    const client = clients.get(device.deviceId)!;
    client.on('message', (topic, body) => {
      try {
        const msg = decodeMessage(topic, body);
        if (msg.kind !== 'gateCommand') return;
        for (const h of handlers) h(msg.payload);
      } catch (err) {
        rejected += 1;
        opts.log.warn('rejected gate command', {
          topic,
          code: isWalkoutError(err) ? err.code : 'UNKNOWN',
          error: (err as Error).message,
          rejected,
        });
      }
    });
    await client.subscribeAsync(topics.gateCommand(opts.storeId, device.deviceId), { qos: 1 });
  }
  return {
    publish(message: DeviceMessage) {
      const client = clients.get(message.deviceId);
      if (!client) throw new Error(`no MQTT client for device ${message.deviceId}`);
      // Samples are a stream where the next batch supersedes a lost one; gate traffic must arrive.
      const qos = message.kind === 'plateSamples' ? 0 : 1;
      client.publish(message.topic, JSON.stringify(message.payload), { qos, retain: message.retain });
      published += 1;
    },
    get published() {
      return published;
    },
    get rejected() {
      return rejected;
    },
    onCommand(handler) {
      handlers.push(handler);
    },
    async close() {
      await Promise.all(
        opts.devices.map(async (device) => {
          const client = clients.get(device.deviceId)!;
          await client.publishAsync(
            topics.deviceStatus(opts.storeId, device.deviceId),
            statusFor(device, 'offline'),
            { retain: true, qos: 1 },
          );
          await client.endAsync();
        }),
      );
      // Their passwords were made for this run and are gone with it: the accounts go too.
      if (opts.authority) {
        const authority = opts.authority;
        await Promise.all(
          opts.devices.map((d) => authority.revoke(deviceUsername(opts.storeId, d.deviceId))),
        );
      }
    },
  };
}
