import { startCloud } from '../cloud/app.ts';
import { loadCloudConfig } from '../cloud/config.ts';
import { importCatalog } from '../cloud/stores/catalog.ts';
import { issueDevice } from '../cloud/stores/device-service.ts';
import { createDevice, createStore } from '../cloud/stores/devices.ts';
import type { Logger } from '../platform/log.ts';
import type { MqttAuthority } from '../platform/mqtt-authority.ts';
import { resolveServices } from '../platform/services.ts';
import type { Catalog, StoreLayout } from '../proto/index.ts';

export interface DemoCloud {
  /** Where its HTTP API listens. */
  url: string;
  /** The entry gate controller's device credential, `id:secret`. */
  gateCredentials: string;
  /** Where the store's edge reports (EdgeLink) and its device credential (also its broker login). */
  edge: { grpc: string; http: string; credentials: string };
  close(): Promise<void>;
}

/**
 * The cloud in this process, set up for one store: the store itself, its catalogue with prices,
 * and a device credential for its gate controller. PostgreSQL is DATABASE_URL's, or an embedded
 * one in a throwaway directory (so it never contends with `npm run cloud` for its data). The
 * ports are PORT and GRPC_PORT, or free ones.
 */
export async function startDemoCloud(opts: {
  layout: StoreLayout;
  catalog: Catalog;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** The store's broker, so the device API makes each new device's broker account there. */
  broker?: MqttAuthority | undefined;
}): Promise<DemoCloud> {
  const env = opts.env ?? process.env;
  const { layout } = opts;
  const services = await withoutSignalHooks(() =>
    resolveServices({ needDatabase: true, log: opts.log.child('services') }),
  );
  try {
    const config = loadCloudConfig({
      ...env,
      PORT: env.PORT || '0',
      GRPC_PORT: env.GRPC_PORT || '0',
      METRICS_PORT: env.METRICS_PORT || '0',
      HOST: env.HOST || '127.0.0.1',
    });
    const cloud = await startCloud(config, {
      databaseUrl: services.databaseUrl!,
      log: opts.log,
      ...(opts.broker ? { broker: opts.broker } : {}),
    });
    try {
      const db = cloud.ctx.db;
      const known = await db.query('select 1 from stores where id = $1', [layout.storeId]);
      if (known.rowCount === 0) await createStore(db, { id: layout.storeId, name: layout.name });
      // Prices valid from long before the store's first visit: the cloud prices a visit at its
      // close in the store's time, and the simulated store's clock starts on 2026-01-05 whatever
      // today is (the same seed, the same run).
      await importCatalog(db, layout.storeId, opts.catalog, new Date(0));
      const gate = await createDevice(db, layout.storeId, 'gate', { gateIds: layout.gates.map((g) => g.id) });
      // Through the device API's own path, so the edge's broker account is made as an operator's would be.
      const edge = await issueDevice(
        { db, broker: opts.broker ?? null, log: opts.log },
        layout.storeId,
        'edge',
        {},
      );
      return {
        url: cloud.httpUrl,
        gateCredentials: `${gate.id}:${gate.secret}`,
        edge: { grpc: cloud.grpcAddress, http: cloud.httpUrl, credentials: `${edge.id}:${edge.secret}` },
        close: async () => {
          await cloud.close();
          await services.close();
        },
      };
    } catch (err) {
      await cloud.close();
      throw err;
    }
  } catch (err) {
    await services.close();
    throw err;
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs `start` and takes back the SIGINT/SIGTERM listeners it added. The embedded PostgreSQL
 * package adds one that stops the server and exits at once, which would take the database away
 * from the running cloud and cut the store's own shutdown (its summary) short; the caller closes
 * store, cloud and database in that order instead.
 */
async function withoutSignalHooks<T>(start: () => Promise<T>): Promise<T> {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  try {
    return await start();
  } finally {
    for (const s of SIGNALS)
      for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
  }
}
