/**
 * The cloud as its own process (`node --import tsx cloud/main.ts`), started on the same ports
 * every time so that clients find it again, and killed with SIGKILL: no handler runs, no buffer
 * is flushed, the sockets close as the kernel closes them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { root, sleep } from './options.ts';

export interface CloudChild {
  httpUrl: string;
  grpcAddress: string;
  /** Whether a cloud process is listening now; clients wait for it. */
  readonly up: boolean;
  /** Epoch ms at which the current process started listening (0 while down). */
  readonly upSince: number;
  /** Warnings and errors the cloud logged, over all its lives. */
  readonly warnings: number;
  start(): Promise<number>;
  kill(): Promise<void>;
  /** A clean stop (SIGTERM), for the end of the run. */
  stop(): Promise<void>;
  /** Resolves the next time the cloud listens (at once if it does). */
  whenUp(): Promise<void>;
}

/** A port nobody listens on now; the cloud takes it at each start. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** How long a start may take before the run gives up: tsx compiles the cloud at each start. */
const START_TIMEOUT_MS = 60_000;

export async function cloudChild(opts: {
  databaseUrl: string;
  env: Record<string, string>;
  logFile: string;
}): Promise<CloudChild> {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const log: WriteStream = createWriteStream(opts.logFile, { flags: 'a' });
  let child: ChildProcess | null = null;
  let upSince = 0;
  let warnings = 0;
  const waiters: Array<() => void> = [];

  const start = async (): Promise<number> => {
    const began = Date.now();
    const c = spawn(process.execPath, ['--import', 'tsx', join(root, 'cloud/main.ts')], {
      cwd: root,
      env: {
        ...process.env,
        ...opts.env,
        DATABASE_URL: opts.databaseUrl,
        HOST: '127.0.0.1',
        PORT: String(httpPort),
        GRPC_PORT: String(grpcPort),
        METRICS_PORT: '0',
        PAYMENT_PROVIDER: 'sandbox',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = c;
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the cloud did not listen in time')), START_TIMEOUT_MS);
      c.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(`the cloud exited during start-up (code ${code}, signal ${signal}); see ${opts.logFile}`),
        );
      });
      createInterface({ input: c.stderr! }).on('line', (line) => {
        log.write(`${line}\n`);
        if (line.includes('"level":"warn"') || line.includes('"level":"error"')) warnings += 1;
        if (line.includes('"msg":"cloud listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    try {
      await listening;
    } catch (err) {
      c.kill('SIGKILL');
      throw err;
    }
    c.removeAllListeners('exit');
    c.once('exit', () => {
      upSince = 0;
    });
    upSince = Date.now();
    for (const w of waiters.splice(0)) w();
    return upSince - began;
  };

  const exited = (c: ChildProcess) =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r));

  return {
    httpUrl: `http://127.0.0.1:${httpPort}`,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    get up() {
      return upSince > 0;
    },
    get upSince() {
      return upSince;
    },
    get warnings() {
      return warnings;
    },
    start,
    kill: async () => {
      const c = child;
      if (!c) return;
      upSince = 0;
      const gone = exited(c);
      c.kill('SIGKILL');
      await gone;
      log.write(`{"level":"kill","msg":"SIGKILL","time":"${new Date().toISOString()}"}\n`);
    },
    stop: async () => {
      const c = child;
      if (!c) return;
      upSince = 0;
      const gone = exited(c);
      c.kill('SIGTERM');
      await Promise.race([gone, sleep(10_000)]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await gone;
      await new Promise((r) => log.end(r));
    },
    whenUp: () => (upSince > 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
  };
}
