import { resolve } from 'node:path';
import type { Logger } from '../../platform/log.ts';
import type { MqttAuthority } from '../../platform/mqtt-authority.ts';
import type { EdgeStats } from '../../proto/index.ts';
import type { Summary } from '../run/session.ts';
import { type LoadedScenario, loadScenario } from '../scenario/load.ts';
import { startDashboard } from '../web/dashboard.ts';
import { parseSimConfig, type SimConfig } from './config.ts';
import { startLive } from './live.ts';

const ms = (v: number | null) => (v === null ? '-' : `${(v / 1000).toFixed(1)} s`);

/** One line of an edge's last counters: frames in all cameras, the link's backlog, visits open. */
function edgeLine(e: EdgeStats): string {
  const f = Object.values(e.cameras).reduce(
    (a, c) => ({
      received: a.received + c.received,
      processed: a.processed + c.processed,
      dropped: a.dropped + c.dropped,
    }),
    { received: 0, processed: 0, dropped: 0 },
  );
  const link = e.link
    ? `link pending ${e.link.pending}${e.link.connected ? '' : ' (disconnected)'}`
    : 'no cloud';
  return `frames received ${f.received} processed ${f.processed} dropped ${f.dropped}, ${link}, visits open ${e.visitsOpen}`;
}

/**
 * The demo's flags over its defaults: an ordinary morning (`baseline`), so a newcomer sees what the
 * store does well: receipts that match what was taken. The lunchtime rush (`--scenario crowded`)
 * is the hard case the edge does not get right yet (docs/benchmarks.md): with it as the default,
 * 10 of 13 receipts of a run came out empty.
 */
export function demoConfig(
  args: string[],
  env: NodeJS.ProcessEnv,
): { config: SimConfig; loaded: LoadedScenario } {
  const config = parseSimConfig(
    ['--out', 'out/demo', '--minutes', '480', '--scenario', 'baseline', ...args],
    env,
  );
  return {
    config,
    loaded: loadScenario(config.scenario, { layout: config.layout, catalog: config.catalog }),
  };
}

/**
 * The store live with its dashboard until the run ends or SIGINT/SIGTERM stops it. With
 * WALKOUT_CLOUD_URL in `env` its shoppers and entry gate are the cloud's clients.
 */
export async function runDemo(
  args: string[],
  env: NodeJS.ProcessEnv,
  log: Logger,
  broker?: { url: string; authority: MqttAuthority | undefined },
): Promise<Summary> {
  const { config, loaded } = demoConfig(args, env);
  const live = await startLive({ config, loaded, out: resolve(config.out), log, broker });
  const port = Number(env.DEMO_PORT ?? 3000);
  const dashboard = await startDashboard({
    layout: loaded.layout,
    mqttUrl: live.mqttUrl,
    mqttAuthority: live.mqttAuthority,
    cameraUrls: live.cameraUrls,
    progress: live.latest,
    receipts: live.receipts,
    port,
  });
  process.stdout.write(
    `\nWalkout synthetic store "${loaded.layout.name}" is running (scenario ${loaded.scenario.name}, seed ${config.seed}).\n` +
      `  open  ${dashboard.url}\n  mqtt  ${live.mqttUrl}\n  cameras ${live.cameraBaseUrl}/cameras\n` +
      (live.cloudUrl ? `  cloud ${live.cloudUrl}\n` : '') +
      'Ctrl-C stops it.\n',
  );
  // Listening for every signal, not once: Ctrl-C can arrive twice (from the terminal, and relayed
  // by npm or tsx), and a second one with no listener would kill the store before its summary.
  const stop = () => live.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const summary = await live.done.finally(() => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  });
  const { edges } = dashboard.stats();
  await dashboard.close();
  const receipts = live.receipts();
  process.stdout.write(
    `\nstopped after ${summary.simulatedSeconds.toFixed(0)} s: ${summary.visits} visits, ${summary.picks} picks, ${summary.mqttMessages} MQTT messages\n` +
      (receipts
        ? `receipts: ${receipts.received} of ${receipts.exits} visits that walked out (${receipts.waiting} waiting, ${receipts.gaveUp} given up), latency median ${ms(receipts.latencyMs.median)} max ${ms(receipts.latencyMs.max)}\n`
        : '') +
      edges.map((e) => `edge ${e.edgeId}: ${edgeLine(e)}\n`).join(''),
  );
  return summary;
}
