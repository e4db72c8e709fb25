/**
 * `npm run cloud`: the cloud service. With DATABASE_URL unset it starts an embedded PostgreSQL
 * (for the demo and for people without a server); tests and CI use a real one.
 */
import { createLogger } from '../platform/log.ts';
import { resolveServices } from '../platform/services.ts';
import { isWalkoutError } from '../proto/index.ts';
import { startCloud } from './app.ts';
import { loadCloudConfig } from './config.ts';

const log = createLogger('cloud');
try {
  const config = loadCloudConfig();
  const services = await resolveServices({ needDatabase: true, log, persistentDatabase: true });
  const cloud = await startCloud(config, { databaseUrl: services.databaseUrl!, log });
  const stop = async (signal: string) => {
    log.info('stopping', { signal });
    await cloud.close();
    await services.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  if (isWalkoutError(err, 'CONFIG_INVALID')) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  log.error('cloud failed to start', { err });
  process.exit(1);
}
