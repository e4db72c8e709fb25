/**
 * An EdgeLink client to a test cloud for tests: the device's credentials, its own outbox directory
 * and a quick reconnect (tests stop and start clouds; the default backoff would make them wait).
 */
import type { Logger } from '../../../platform/log.ts';
import { EdgeLinkClient } from '../client.ts';
import { loadLinkConfig } from '../config.ts';

export function testLink(
  cloud: { grpcAddress: string; httpUrl?: string },
  device: { id: string; secret: string },
  outboxDir: string,
  log: Logger,
): EdgeLinkClient {
  return EdgeLinkClient.start(
    loadLinkConfig(
      {
        address: cloud.grpcAddress,
        ...(cloud.httpUrl ? { httpUrl: cloud.httpUrl } : {}),
        outboxDir,
        backoff: { initialMs: 50, maxMs: 300, factor: 2, jitter: 0.5 },
      },
      { WALKOUT_EDGE_CREDENTIALS: `${device.id}:${device.secret}` },
    ),
    { log },
  );
}
