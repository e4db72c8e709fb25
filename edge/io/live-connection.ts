import mqtt from 'mqtt';
import type { Logger } from '../../platform/log.ts';
import type { LiveConfig } from './live-config.ts';
import { edgeWill, MqttLivePublisher, type MqttLivePublisherOptions } from './live-publisher.ts';

/**
 * A publisher on a connection of its own, made with the edge's last will; it says `online` (retained)
 * whenever connected and reconnects by itself. Returns at once: nothing waits for the broker.
 */
export function createLivePublisher(opts: {
  url: string;
  login: { username: string; password: string } | Record<string, never>;
  storeId: string;
  edgeId: string;
  config?: Partial<LiveConfig>;
  timer?: MqttLivePublisherOptions['timer'];
  /** Default 1 s. */
  reconnectPeriodMs?: number;
  log?: Logger;
}): MqttLivePublisher {
  const client = mqtt.connect(opts.url, {
    ...opts.login,
    clientId: `walkout-edge-${opts.storeId}-${opts.edgeId}-live`,
    clean: true,
    reconnectPeriod: opts.reconnectPeriodMs ?? 1_000,
    will: edgeWill(opts.storeId, opts.edgeId),
  });
  client.on('error', (err) => opts.log?.warn('live publisher connection error', { error: err.message }));
  return new MqttLivePublisher({
    client,
    storeId: opts.storeId,
    edgeId: opts.edgeId,
    ownsClient: true,
    ...(opts.config ? { config: opts.config } : {}),
    ...(opts.timer ? { timer: opts.timer } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
}
