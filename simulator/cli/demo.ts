/**
 * npm start: the whole store on embedded defaults. Runs the simulator live (an in-process broker
 * when MQTT_URL is unset) and serves a page with every camera and live counts.
 */
import { resolve } from 'node:path';
import { createLogger } from '../../platform/log.ts';
import { isWalkoutError } from '../../proto/index.ts';
import { loadScenario } from '../scenario/load.ts';
import { startDashboard } from '../web/dashboard.ts';
import { parseSimConfig } from './config.ts';
import { startLive } from './live.ts';

const log = createLogger('demo');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // The lunchtime rush by default: a newcomer should see a store full of shoppers.
  const config = parseSimConfig(
    ['--out', 'out/demo', '--minutes', '480', '--scenario', 'crowded', ...args],
    process.env,
  );
  const loaded = loadScenario(config.scenario, { layout: config.layout, catalog: config.catalog });
  const live = await startLive({ config, loaded, out: resolve(config.out), log });
  const port = Number(process.env.DEMO_PORT ?? 3000);
  const dashboard = await startDashboard({
    layout: loaded.layout,
    mqttUrl: live.mqttUrl,
    cameraUrls: live.cameraUrls,
    progress: live.latest,
    port,
  });
  process.stdout.write(
    `\nWalkout synthetic store "${loaded.layout.name}" is running (scenario ${loaded.scenario.name}, seed ${config.seed}).\n` +
      `  open  ${dashboard.url}\n  mqtt  ${live.mqttUrl}\n  cameras ${live.cameraBaseUrl}/cameras\nCtrl-C stops it.\n`,
  );
  const stop = () => live.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const summary = await live.done;
  await dashboard.close();
  process.stdout.write(
    `\nstopped after ${summary.simulatedSeconds.toFixed(0)} s: ${summary.visits} visits, ${summary.picks} picks, ${summary.mqttMessages} MQTT messages\n`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`\n${isWalkoutError(err) ? err.message : ((err as Error).stack ?? String(err))}\n`);
    process.exit(1);
  },
);
