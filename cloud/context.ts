import type { Logger } from '../platform/log.ts';
import type { MqttAuthority } from '../platform/mqtt-authority.ts';
import type { AccountDeps } from './accounts/service.ts';
import type { CloudConfig } from './config.ts';
import type { Notices } from './db/notices.ts';
import type { Db } from './db/pool.ts';
import type { Timeseries } from './db/timeseries.ts';
import type { GateDeps } from './entry/gate.ts';
import type { CloudMetrics } from './http/metrics.ts';
import type { CloudKeys } from './keys.ts';
import type { PaymentProvider } from './payments/provider.ts';
import type { SettlementRunner } from './settlement/runner.ts';
import type { SettleDeps } from './settlement/settle.ts';
import type { DeviceAuth } from './stores/devices.ts';

/** Everything a request handler may touch, built once at start-up and passed down. */
export interface CloudContext {
  config: CloudConfig;
  db: Db;
  keys: CloudKeys;
  provider: PaymentProvider;
  now: () => Date;
  log: Logger;
  metrics: CloudMetrics;
  timeseries: Timeseries;
  notices: Notices;
  devices: DeviceAuth;
  /** Makes and deletes devices' broker accounts; null when the cloud has no broker admin. */
  broker: MqttAuthority | null;
  accounts: AccountDeps;
  gate: GateDeps;
  settle: SettleDeps;
  settlement: SettlementRunner;
}

export function settleDeps(
  parts: Pick<CloudContext, 'config' | 'db' | 'provider' | 'now' | 'log'>,
  checkpoint?: SettleDeps['checkpoint'],
): SettleDeps {
  const { config, db, provider, now, log } = parts;
  return {
    db,
    provider,
    log: log.child('settle'),
    currency: config.CURRENCY,
    now,
    ...(checkpoint ? { checkpoint } : {}),
  };
}

export function buildContext(parts: Omit<CloudContext, 'accounts' | 'gate'>): CloudContext {
  const { config, db, keys, provider, now, log } = parts;
  return {
    ...parts,
    accounts: {
      db,
      provider,
      accessKey: keys.access,
      now,
      accessTtlS: config.ACCESS_TOKEN_TTL_S,
      refreshTtlS: config.REFRESH_TOKEN_TTL_S,
      scryptCost: config.SCRYPT_COST,
    },
    gate: {
      db,
      provider,
      entryKeys: keys.entryPublicKeys,
      now,
      log: log.child('gate'),
      holdAmountMinor: config.HOLD_AMOUNT_MINOR,
      currency: config.CURRENCY,
      skewS: config.ENTRY_CLOCK_SKEW_S,
      retryWindowS: config.GATE_RETRY_WINDOW_S,
      observe: (decision, reason, seconds) =>
        parts.metrics.gateDecisions.observe({ decision, reason }, seconds),
      observeHold: (outcome, seconds) => parts.metrics.holds.observe({ outcome }, seconds),
    },
  };
}
