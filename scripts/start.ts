/**
 * npm start: the whole store on embedded defaults, cloud included. Starts the cloud in this process
 * (scripts/demo-cloud.ts), then the live store and its dashboard (simulator/cli/demo-run.ts) as the
 * cloud's clients: every shopper signs up, adds a sandbox card and shows the cloud's entry codes,
 * and the entry gate asks the cloud. `--no-cloud` runs the store alone, as does a cloud that fails
 * to start (with a warning); WALKOUT_CLOUD_URL (with WALKOUT_GATE_CREDENTIALS) uses another cloud.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createLogger } from '../platform/log.ts';
import { resolveServices } from '../platform/services.ts';
import { isWalkoutError } from '../proto/index.ts';
import { demoConfig, runDemo } from '../simulator/cli/demo-run.ts';
import { type DemoCloud, startDemoCloud } from './demo-cloud.ts';
import { type DemoEdge, startDemoEdge } from './demo-edge.ts';

const log = createLogger('start');

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const args = argv.filter((a) => a !== '--no-cloud');
  const env = { ...process.env };
  let cloud: DemoCloud | null = null;
  let edge: DemoEdge | null = null;
  // One broker for the store and its cloud, started first: the cloud's device API makes the broker
  // accounts of the devices it issues there, embedded or Mosquitto (with MQTT_ADMIN) alike.
  const mqtt = await resolveServices({ needMqtt: true, log: log.child('services') });
  const broker = { url: mqtt.mqttUrl!, authority: mqtt.mqttAuthority };
  if (args.length === argv.length && !env.WALKOUT_CLOUD_URL) {
    // Flags are checked before anything starts; the store the demo runs is the one the cloud gets.
    const { loaded, config } = demoConfig(args, env);
    try {
      cloud = await startDemoCloud({
        layout: loaded.layout,
        catalog: loaded.catalog,
        log: createLogger('cloud'),
        broker: mqtt.mqttAuthority,
      });
      env.WALKOUT_CLOUD_URL = cloud.url;
      env.WALKOUT_GATE_CREDENTIALS = cloud.gateCredentials;
      edge = startDemoEdge({
        layout: loaded.layout,
        catalog: loaded.catalog,
        mqttUrl: broker.url,
        cloud: cloud.edge,
        out: resolve(config.out),
        log: log.child('edge'),
        // Measured beside the live store (crowded, 8 cameras): asked for 5, the edge detected about
        // 2.9 frames a second a camera, the rest dropped; asking for 3 says what it can do.
        detectFps: 3,
      });
    } catch (err) {
      log.warn('the cloud did not start; the store runs without it, its codes signed offline', { err });
    }
  }
  try {
    await runDemo(args, env, createLogger('demo'), broker);
  } finally {
    // The edge first: it sends what it still has before the cloud goes. Each step is bounded, so
    // a part that cannot close (its database already gone) never keeps the demo from exiting.
    await bounded('edge', edge?.close());
    await bounded('cloud', cloud?.close());
    await bounded('broker', mqtt.close());
  }
}

/** How long each part may take to close at the end of the demo. */
const CLOSE_TIMEOUT_MS = 15_000;

async function bounded(part: string, closing: Promise<void> | undefined): Promise<void> {
  if (!closing) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), CLOSE_TIMEOUT_MS);
  });
  const outcome = await Promise.race([closing.then(() => 'closed' as const), late]).catch((err: unknown) => {
    log.warn(`the ${part} failed to close`, { err });
    return 'failed' as const;
  });
  clearTimeout(timer);
  if (outcome === 'late') log.warn(`the ${part} did not close within ${CLOSE_TIMEOUT_MS} ms; exiting anyway`);
}

/**
 * Ctrl-C signals the terminal's whole foreground process group, and the embedded PostgreSQL the
 * cloud starts is in it: it ended its connections before the cloud's last writes, which then
 * failed. So the demo runs as a child in a process group of its own, and this parent only passes
 * a stop on to it; the demo stops the database last, itself. True in that child.
 */
function inOwnGroup(): boolean {
  if (process.env.WALKOUT_DEMO_CHILD === '1') {
    // The parent gone (killed outright) stops the demo too, rather than leave it running unseen.
    process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
    return true;
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, WALKOUT_DEMO_CHILD: '1' },
  });
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => child.kill(s));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return false;
}

if (inOwnGroup())
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(
        `\n${isWalkoutError(err) ? err.message : ((err as Error).stack ?? String(err))}\n`,
      );
      process.exit(1);
    },
  );
