/**
 * npm run sim -- --scenario NAME --seed N --minutes M [--speed X | --record DIR] [--no-cameras]
 *                [--layout FILE --catalog FILE] --out DIR
 * Live (default): devices publish to MQTT_URL (an embedded broker when unset) and cameras serve
 * MJPEG, paced at --speed (1 = real time). --record DIR: the same traffic and frames to files, as
 * fast as possible. Either way DIR of --out gets summary.json and the ground truth.
 * --cloud URL (or WALKOUT_CLOUD_URL), with the entry gate's device credential in
 * WALKOUT_GATE_CREDENTIALS (id:secret): shoppers sign up and fetch codes at that cloud, and the
 * cloud decides at the entry gate.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLogger } from '../../platform/log.ts';
import { isWalkoutError } from '../../proto/index.ts';
import { systemWallClock } from '../core/clock.ts';
import { cloudFromConfig } from '../io/cloud-link.ts';
import { createRecordedFrames } from '../io/frame-sinks.ts';
import { createOfflineApp } from '../io/offline-app.ts';
import { createRecordingSink } from '../io/recording.ts';
import { runSession } from '../run/session.ts';
import { loadScenario } from '../scenario/load.ts';
import { parseSimConfig } from './config.ts';
import { startLive } from './live.ts';
import { createProgressPrinter } from './progress.ts';

const log = createLogger('sim');

async function main(): Promise<number> {
  const config = parseSimConfig(process.argv.slice(2), process.env);
  const loaded = loadScenario(config.scenario, { layout: config.layout, catalog: config.catalog });
  const out = resolve(config.out);
  const progress = config.progress ? createProgressPrinter() : undefined;
  if (config.record) {
    const dir = resolve(config.record);
    const offline = createOfflineApp(loaded.layout.storeId, `sim-${config.seed}`);
    const cloud = await cloudFromConfig(config, loaded.layout, log.child('cloud'));
    const summary = await runSession({
      loaded,
      seed: config.seed,
      minutes: config.minutes,
      out,
      app: cloud?.app ?? offline,
      authority: cloud?.authority ?? { kind: 'local', verify: offline.verify },
      io: cloud?.inFlight,
      sink: (engine) => {
        const sink = createRecordingSink(dir);
        // A recording carries its store, so replay tools need nothing else.
        writeFileSync(join(dir, 'layout.json'), `${JSON.stringify(loaded.layout)}\n`);
        writeFileSync(join(dir, 'catalog.json'), `${JSON.stringify(loaded.catalog)}\n`);
        for (const d of engine.devices()) sink.publish(engine.statusMessage(d, 'online'));
        // As live devices do when the store shuts down: each says it is offline.
        const close = sink.close.bind(sink);
        const recorded = Object.assign(sink, {
          close: async () => {
            for (const d of engine.devices()) sink.publish(engine.statusMessage(d, 'offline'));
            await close();
          },
        });
        return cloud ? cloud.gates(recorded, engine) : recorded;
      },
      frames: config.noCameras ? undefined : (engine) => createRecordedFrames({ dir, engine, out }),
      speed: null,
      wall: systemWallClock,
      onProgress: progress,
      mode: 'record',
    });
    progress?.stop();
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  }
  const live = await startLive({ config, loaded, out, log, onProgress: progress });
  const stop = () => live.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const summary = await live.done;
  progress?.stop();
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (isWalkoutError(err)) {
      process.stderr.write(`\nerror ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`\n${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
