import mqtt from 'mqtt';
import type { Logger } from '../../platform/log.ts';
import { type GateCommand, topics } from '../../proto/index.ts';

/**
 * The gate authority's connection to the store's broker, with an `authority` account of its own
 * (docs/mqtt.md, Accounts): the edge's own account may publish only its live state, and a store's
 * gates take commands only from their authority. Returns at once; publishes wait for the broker
 * (mqtt.js queues them while it reconnects).
 */
export function connectGateCommands(opts: {
  url: string;
  /** The authority device's `id:secret`: its broker login. */
  credentials: string;
  storeId: string;
  clientId: string;
  /** Default 1 s. */
  reconnectPeriodMs?: number;
  log: Logger;
}): { publish(command: GateCommand): Promise<void>; close(): Promise<void> } {
  const colon = opts.credentials.indexOf(':');
  const client = mqtt.connect(opts.url, {
    username: opts.credentials.slice(0, colon),
    password: opts.credentials.slice(colon + 1),
    clientId: opts.clientId,
    clean: true,
    reconnectPeriod: opts.reconnectPeriodMs ?? 1_000,
  });
  client.on('error', (err) => opts.log.warn('gate command connection error', { error: err.message }));
  return {
    async publish(command) {
      // QoS 1: a barrier's command must arrive; a gate drops a repeat by its commandId.
      await client.publishAsync(topics.gateCommand(opts.storeId, command.gateId), JSON.stringify(command), {
        qos: 1,
      });
    },
    async close() {
      await client.endAsync();
    },
  };
}
