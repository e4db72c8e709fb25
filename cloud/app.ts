import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '../platform/log.ts';
import { connectDynsecAuthority, type MqttAuthority, parseBrokerLogin } from '../platform/mqtt-authority.ts';
import type { CloudConfig } from './config.ts';
import { buildContext, type CloudContext, settleDeps } from './context.ts';
import { migrateUp } from './db/migrate.ts';
import { startNotices } from './db/notices.ts';
import { createPool, type Db } from './db/pool.ts';
import { enforceRetention } from './db/retention.ts';
import { detectTimeseries } from './db/timeseries.ts';
import { gateIdle } from './entry/gate.ts';
import { recoverHolds } from './entry/recover.ts';
import { createMetrics } from './http/metrics.ts';
import { buildHttp, buildMetricsHttp } from './http/server.ts';
import { loadKeys } from './keys.ts';
import { createLinkServer, type LinkOptions } from './link/server.ts';
import type { PaymentProvider } from './payments/provider.ts';
import { withTimeout } from './payments/provider.ts';
import { createSandboxProvider } from './payments/sandbox.ts';
import { createStripeProvider } from './payments/stripe.ts';
import { type SettlementRunner, startSettlementRunner } from './settlement/runner.ts';
import type { SettleStep } from './settlement/settle.ts';
import { deviceAuth } from './stores/devices.ts';

export interface CloudOptions {
  databaseUrl: string;
  now?: () => Date;
  log?: Logger;
  /** Overrides PAYMENT_PROVIDER (the sandbox by default, on the same database). */
  provider?: (db: Db) => PaymentProvider;
  link?: Omit<LinkOptions, 'onSettleable'>;
  /** Tests stop a settlement at a step by throwing here (see SettleDeps.checkpoint). */
  settleCheckpoint?: (step: SettleStep, visitId: string) => void;
  /** The broker's authority to use instead of MQTT_URL/MQTT_ADMIN (an embedded broker's). */
  broker?: MqttAuthority;
}

export interface RunningCloud {
  ctx: CloudContext;
  http: FastifyInstance;
  /** Where HTTP listens, e.g. http://127.0.0.1:8080. */
  httpUrl: string;
  /** Where Prometheus scrapes /metrics (METRICS_HOST:METRICS_PORT), apart from the public port. */
  metricsUrl: string;
  /** Where the EdgeLink gRPC server listens, host:port. */
  grpcAddress: string;
  settlement: SettlementRunner;
  close(): Promise<void>;
}

/**
 * Start-up in the order that keeps money exact: schema first, then the keys, then the recovery of
 * anything a crash left half-done, and only then the listeners.
 */
export async function startCloud(config: CloudConfig, opts: CloudOptions): Promise<RunningCloud> {
  const log = opts.log ?? createLogger('cloud');
  const now = opts.now ?? (() => new Date());
  const db = createPool(opts.databaseUrl, { max: config.DB_POOL_SIZE, log: log.child('db') });
  let broker: MqttAuthority | null = null;
  try {
    await migrateUp(db, log.child('migrate'));
    const timeseries = await detectTimeseries(db, log.child('timeseries'));
    const keys = await loadKeys(db);
    const raw = opts.provider
      ? opts.provider(db)
      : config.PAYMENT_PROVIDER === 'stripe'
        ? createStripeProvider({ apiKey: config.STRIPE_API_KEY!, baseUrl: config.STRIPE_API_BASE })
        : createSandboxProvider(db);
    const provider = withTimeout(raw, config.PAYMENT_TIMEOUT_MS);
    const notices = await startNotices(opts.databaseUrl, log.child('notices'));
    const devices = deviceAuth(db);
    notices.onDeviceRevoked((id) => devices.forget(id));
    const settle = settleDeps({ config, db, provider, now, log }, opts.settleCheckpoint);
    const settlement = startSettlementRunner(settle, {
      sweepEveryMs: config.SETTLE_SWEEP_MS,
      openVisitTimeoutMs: config.OPEN_VISIT_TIMEOUT_MIN * 60_000,
    });
    const metrics = createMetrics();
    broker =
      opts.broker ??
      (config.MQTT_URL && config.MQTT_ADMIN
        ? await connectDynsecAuthority({ url: config.MQTT_URL, admin: parseBrokerLogin(config.MQTT_ADMIN) })
        : null);
    if (!broker) log.warn('no broker admin (MQTT_ADMIN): devices are created without broker accounts');
    const ctx = buildContext({
      broker,
      config,
      db,
      keys,
      provider,
      now,
      log,
      metrics,
      timeseries,
      notices,
      devices,
      settle,
      settlement,
    });
    const stale = new Date(now().getTime() - 2 * config.PAYMENT_TIMEOUT_MS);
    await recoverHolds(db, provider, log.child('recover'), stale);
    const retention = async () =>
      enforceRetention(db, now(), config.PERSONAL_DATA_RETENTION_DAYS, log.child('retention')).catch(
        (err: unknown) => log.error('retention run failed', { err }),
      );
    await retention();
    const retentionTimer = setInterval(() => void retention(), 3_600_000);
    retentionTimer.unref();
    // Whatever a crash left between close and receipt is settled before new work arrives.
    await settlement.sweep();
    const http = buildHttp(ctx);
    const address = await http.listen({ port: config.PORT, host: config.HOST });
    const metricsHttp = buildMetricsHttp(ctx);
    const metricsUrl = await metricsHttp.listen({ port: config.METRICS_PORT, host: config.METRICS_HOST });
    const link = createLinkServer(ctx, {
      ...opts.link,
      onSettleable: (visitId) => settlement.enqueue(visitId),
    });
    // Plain HTTP/2 here; TLS belongs to the deployment (a terminating proxy or mTLS credentials).
    const grpcPort = await new Promise<number>((resolve, reject) =>
      link.bindAsync(
        `${config.HOST}:${config.GRPC_PORT}`,
        grpc.ServerCredentials.createInsecure(),
        (err, port) => (err ? reject(err) : resolve(port)),
      ),
    );
    const grpcAddress = `${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${grpcPort}`;
    log.info('cloud listening', {
      http: address,
      grpc: grpcAddress,
      metrics: metricsUrl,
      provider: provider.name,
      timescaledb: timeseries.timescale,
    });
    return {
      ctx,
      http,
      httpUrl: address.replace('0.0.0.0', '127.0.0.1'),
      metricsUrl: metricsUrl.replace('0.0.0.0', '127.0.0.1'),
      grpcAddress,
      settlement,
      close: async () => {
        clearInterval(retentionTimer);
        link.forceShutdown();
        await http.close();
        await metricsHttp.close();
        await gateIdle(ctx.gate);
        await settlement.stop();
        await notices.close();
        if (!opts.broker) await broker?.close();
        await db.end();
      },
    };
  } catch (err) {
    if (!opts.broker) await broker?.close().catch(() => {});
    await db.end().catch(() => {});
    throw err;
  }
}
