/**
 * The edge of `npm start`, as its own process (`npm run edge`), the way a store runs it: it meets
 * the simulator only over the broker and the camera streams, and the cloud only over its EdgeLink.
 * A process of its own also keeps its detector and tracker off the simulator's thread. Its log goes
 * to {out}/edge.log; its state (the outbox) to a directory of its own device, since every demo
 * cloud is a new one.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../platform/log.ts';
import type { Catalog, StoreLayout } from '../proto/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** How long the edge has to end its live state and flush its outbox after SIGTERM. */
const STOP_TIMEOUT_MS = 10_000;

export interface DemoEdge {
  logFile: string;
  close(): Promise<void>;
}

export function startDemoEdge(opts: {
  layout: StoreLayout;
  catalog: Catalog;
  mqttUrl: string;
  cloud: { grpc: string; http: string; credentials: string };
  out: string;
  log: Logger;
  detectFps?: number;
}): DemoEdge {
  const deviceId = opts.cloud.credentials.split(':')[0]!;
  const dir = join(opts.out, 'edge', deviceId);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'layout.json'), JSON.stringify(opts.layout));
  writeFileSync(join(dir, 'catalog.json'), JSON.stringify(opts.catalog));
  const logFile = join(opts.out, 'edge.log');
  const logFd = openSync(logFile, 'a');
  const args = [
    '--import',
    'tsx',
    join(ROOT, 'edge/cli/main.ts'),
    '--store',
    opts.layout.storeId,
    '--cloud',
    opts.cloud.grpc,
    '--cloud-http',
    opts.cloud.http,
    '--layout',
    join(dir, 'layout.json'),
    '--catalog',
    join(dir, 'catalog.json'),
    '--state',
    join(dir, 'state'),
    ...(opts.detectFps ? ['--detect-fps', String(opts.detectFps)] : []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, MQTT_URL: opts.mqttUrl, WALKOUT_EDGE_CREDENTIALS: opts.cloud.credentials },
    stdio: ['ignore', logFd, logFd],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then((code) => {
    if (!stopping) opts.log.error('the edge stopped on its own', { code, logFile });
  });
  let stopping = false;
  opts.log.info('edge started', { pid: child.pid, deviceId, logFile });
  return {
    logFile,
    async close() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
