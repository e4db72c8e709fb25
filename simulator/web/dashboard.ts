import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import mqtt from 'mqtt';
import { type MqttAuthority, provisionClient } from '../../platform/mqtt-authority.ts';
import { decodeMessage, type EdgeStats, filters, type StoreLayout } from '../../proto/index.ts';
import type { ReceiptStats } from '../io/receipt-watch.ts';
import type { Progress } from '../run/runner.ts';

export interface DashboardStats {
  storeId: string;
  simSeconds: number;
  inStore: number;
  picks: number;
  mqttMessages: number;
  rejectedMessages: number;
  devicesOnline: number;
  devices: number;
  frames: number;
  speed: number;
  /** The phones' receipts (exits, received, latency); null when the store runs without a cloud. */
  receipts: ReceiptStats | null;
  /** Each edge's latest counters as it published them (walkout/{storeId}/edge/{edgeId}/stats). */
  edges: EdgeStats[];
}

const PAGE = readFileSync(new URL('./dashboard.html', import.meta.url), 'utf8');

/**
 * The demo's page: every camera side by side (browsers render MJPEG natively) and live counts.
 * It counts MQTT traffic as an outside subscriber sees it, not as the simulator thinks it sent it.
 */
export async function startDashboard(opts: {
  layout: StoreLayout;
  mqttUrl: string;
  /** Makes the page's subscriber an observer account of the store; absent, it connects anonymously. */
  mqttAuthority?: MqttAuthority | undefined;
  cameraUrls: (cameraId: string) => { streamUrl: string };
  progress: () => Progress | null;
  /** The receipts the shoppers' phones waited for; absent or null without a cloud. */
  receipts?: (() => ReceiptStats | null) | undefined;
  port: number;
}): Promise<{ url: string; stats(): DashboardStats; close(): Promise<void> }> {
  const { layout } = opts;
  const online = new Map<string, boolean>();
  const edges = new Map<string, EdgeStats>();
  let messages = 0;
  let rejected = 0;
  const clientId = `walkout-dashboard-${process.pid}`;
  // One account per store's page, replaced by the next run's (its password was this run's): the
  // page closes after the store, when the broker's authority is already gone, so it cannot delete it.
  const username = `${layout.storeId}/dashboard`;
  const login = await provisionClient(opts.mqttAuthority, username, {
    role: 'observer',
    storeId: layout.storeId,
    deviceId: clientId,
  });
  const client = await mqtt.connectAsync(opts.mqttUrl, { ...login, clientId });
  client.on('message', (topic, body) => {
    messages += 1;
    try {
      const msg = decodeMessage(topic, body);
      if (msg.kind === 'deviceStatus') online.set(msg.id, msg.payload.status === 'online');
      else if (msg.kind === 'edgeStats') edges.set(msg.id, msg.payload);
    } catch {
      rejected += 1;
    }
  });
  await client.subscribeAsync(filters.all(layout.storeId), { qos: 0 });
  const stats = (): DashboardStats => {
    const p = opts.progress();
    return {
      storeId: layout.storeId,
      simSeconds: p?.simSeconds ?? 0,
      inStore: p?.inStore ?? 0,
      picks: p?.picks ?? 0,
      mqttMessages: messages,
      rejectedMessages: rejected,
      devicesOnline: [...online.values()].filter(Boolean).length,
      devices: online.size,
      frames: p?.frames ?? 0,
      speed: p && p.wallSeconds > 0 ? p.simSeconds / p.wallSeconds : 0,
      receipts: opts.receipts?.() ?? null,
      edges: [...edges.values()],
    };
  };
  const cameras = layout.cameras.map((c) => ({
    id: c.id,
    stream: opts.cameraUrls(c.id).streamUrl,
  }));
  const server: Server = createServer((req, res) => {
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        PAGE.replace('__CONFIG__', JSON.stringify({ storeId: layout.storeId, name: layout.name, cameras })),
      );
    } else if (req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(stats()));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'NOT_FOUND', path: req.url }));
    }
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  // A busy preferred port (another demo still running) is no reason to fail: take a free one.
  await listen(opts.port).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err;
    return listen(0);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    url: `http://127.0.0.1:${port}/`,
    stats,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await client.endAsync(true);
    },
  };
}
