import { z } from 'zod';
import type { Logger } from '../../platform/log.ts';
import { type StoreLayout, WalkoutError } from '../../proto/index.ts';
import type { Engine } from '../run/engine.ts';
import type { GateAuthority } from '../run/gates.ts';
import { type CloudApp, createCloudApp } from './cloud-app.ts';
import { withCloudGates } from './cloud-gate.ts';
import { cloudCall } from './cloud-http.ts';
import type { DeviceSink } from './device-sink.ts';
import { InFlight } from './in-flight.ts';

/**
 * How long a scan waits for the cloud, in simulated ms, before the gate gives up: the cloud's own
 * payment timeout (5 s by default) and a margin. Flat out, the runner waits for answers instead.
 */
const DECISION_TIMEOUT_MS = 12_000;

export interface CloudLink {
  baseUrl: string;
  app: CloudApp;
  authority: GateAuthority;
  /** Every request on its way to the cloud, from the app and the gates. */
  inFlight: InFlight;
  /** The device sink with the entry gates asking the cloud. */
  gates(inner: DeviceSink, engine: Engine): DeviceSink;
}

/** `id:secret` of a gate device, as `--gate-credentials` and WALKOUT_GATE_CREDENTIALS give it. */
export function parseDeviceCredentials(pair: string): { id: string; secret: string } {
  const colon = pair.indexOf(':');
  if (colon <= 0 || colon === pair.length - 1)
    throw new WalkoutError('CONFIG_INVALID', 'gate credentials must be "id:secret"');
  return { id: pair.slice(0, colon), secret: pair.slice(colon + 1) };
}

/** The simulated store as the cloud's client: shoppers on the app's API, entry gates on the gates' API. */
export function linkCloud(opts: {
  baseUrl: string;
  gateCredentials: string;
  layout: StoreLayout;
  log: Logger;
  runTag?: string;
}): CloudLink {
  const inFlight = new InFlight();
  const device = parseDeviceCredentials(opts.gateCredentials);
  const app = createCloudApp({
    baseUrl: opts.baseUrl,
    inFlight,
    log: opts.log.child('app'),
    ...(opts.runTag ? { runTag: opts.runTag } : {}),
  });
  const entryGateIds = new Set(opts.layout.gates.filter((g) => g.kind === 'entry').map((g) => g.id));
  return {
    baseUrl: opts.baseUrl,
    app,
    authority: { kind: 'remote', timeoutMs: DECISION_TIMEOUT_MS },
    inFlight,
    gates: (inner, engine) =>
      withCloudGates(inner, engine.gates, () => engine.clock.nowMs(), {
        baseUrl: opts.baseUrl,
        device,
        storeId: opts.layout.storeId,
        entryGateIds,
        inFlight,
        log: opts.log.child('gates'),
      }),
  };
}

/** Fails at start-up, with the address, when nothing answers there, rather than denying every shopper. */
export async function checkCloud(baseUrl: string): Promise<void> {
  await cloudCall(baseUrl, 'GET', '/healthz', z.object({ ok: z.literal(true) }));
}

/** The link a simulator configuration asks for (`--cloud`), checked to answer; null without one. */
export async function cloudFromConfig(
  config: { cloud?: string | undefined; gateCredentials?: string | undefined },
  layout: StoreLayout,
  log: Logger,
): Promise<CloudLink | null> {
  if (!config.cloud) return null;
  if (!config.gateCredentials)
    throw new WalkoutError('CONFIG_INVALID', '--cloud needs the gate device credentials');
  await checkCloud(config.cloud);
  return linkCloud({ baseUrl: config.cloud, gateCredentials: config.gateCredentials, layout, log });
}
