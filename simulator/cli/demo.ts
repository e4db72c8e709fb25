/**
 * The demo without a cloud of its own: the simulator live (an in-process broker when MQTT_URL is
 * unset) and a page with every camera and live counts. `npm start` runs scripts/start.ts, which
 * starts the cloud first and then this; with WALKOUT_CLOUD_URL and WALKOUT_GATE_CREDENTIALS set,
 * this alone uses a cloud running elsewhere.
 */
import { createLogger } from '../../platform/log.ts';
import { isWalkoutError } from '../../proto/index.ts';
import { runDemo } from './demo-run.ts';

runDemo(process.argv.slice(2), process.env, createLogger('demo')).then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`\n${isWalkoutError(err) ? err.message : ((err as Error).stack ?? String(err))}\n`);
    process.exit(1);
  },
);
