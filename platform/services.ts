import { startEmbeddedBroker } from './embedded-mqtt.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { createLogger, type Logger } from './log.ts';
import { connectDynsecAuthority, type MqttAuthority, parseBrokerLogin } from './mqtt-authority.ts';

export interface ResolvedServices {
  mqttUrl?: string;
  /**
   * Grants the broker accounts devices connect with. Absent only for an external broker without
   * MQTT_ADMIN, which must then be one that lets anonymous clients in (an old services.sh's).
   */
  mqttAuthority?: MqttAuthority;
  databaseUrl?: string;
  embedded: { mqtt: boolean; database: boolean };
  /** Stops whatever was started here; external services are left alone. */
  close(): Promise<void>;
}

export interface ResolveOptions {
  needDatabase?: boolean;
  needMqtt?: boolean;
  log?: Logger;
  /** Keep embedded postgres data in `.data/pg-embedded` across runs. Default: throwaway temp dir. */
  persistentDatabase?: boolean;
}

// Passwords in URLs must not reach the logs.
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

/** Env URLs (from scripts/services.sh) win; otherwise start in-process stand-ins so nothing needs installing. */
export async function resolveServices(opts: ResolveOptions = {}): Promise<ResolvedServices> {
  const log = opts.log ?? createLogger('services');
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    await Promise.allSettled(closers.splice(0).map((fn) => fn()));
  };
  const result: ResolvedServices = { embedded: { mqtt: false, database: false }, close };

  try {
    if (opts.needMqtt) {
      const fromEnv = process.env.MQTT_URL;
      if (fromEnv) {
        result.mqttUrl = fromEnv;
        log.info('using external MQTT broker', { url: redact(fromEnv) });
        const admin = process.env.MQTT_ADMIN;
        if (admin) {
          const authority = await connectDynsecAuthority({ url: fromEnv, admin: parseBrokerLogin(admin) });
          closers.push(authority.close);
          result.mqttAuthority = authority;
        } else log.warn('MQTT_ADMIN not set; devices connect without accounts');
      } else {
        const broker = await startEmbeddedBroker();
        closers.push(broker.close);
        result.mqttUrl = broker.url;
        result.mqttAuthority = broker.authority;
        result.embedded.mqtt = true;
        log.info('MQTT_URL not set; started embedded broker', { url: broker.url });
      }
    }
    if (opts.needDatabase) {
      const fromEnv = process.env.DATABASE_URL;
      if (fromEnv) {
        result.databaseUrl = fromEnv;
        log.info('using external database', { url: redact(fromEnv) });
      } else {
        const pg = await startEmbeddedPostgres({ persistent: opts.persistentDatabase ?? false, log });
        closers.push(pg.stop);
        result.databaseUrl = pg.url;
        result.embedded.database = true;
        log.info('DATABASE_URL not set; started embedded postgres', { url: redact(pg.url) });
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return result;
}
