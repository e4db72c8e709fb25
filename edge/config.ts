/**
 * The edge process's one configuration: flags, environment and an optional JSON file of tunables,
 * validated once at start-up (CONFIG_INVALID naming the field). Everything else receives typed
 * parts of it.
 *
 *   npm run edge -- --store STORE_ID [--cloud HOST:PORT [--cloud-http URL]] [--layout FILE --catalog FILE]
 *                   [--replay DIR] [--detect-fps N] [--state DIR] [--mot DIR] [--evidence-port N] [--config FILE]
 *                   [--gate-authority]
 *
 * Environment: WALKOUT_EDGE_CREDENTIALS (id:secret, as the cloud's device API issues an edge's: its
 * EdgeLink credential and its broker login), WALKOUT_GATE_AUTHORITY_CREDENTIALS (an `authority`
 * device's id:secret, with --gate-authority), MQTT_URL (live), LOG_LEVEL.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseWith, WalkoutError } from '../proto/index.ts';
import { Id } from '../proto/layout/schema.ts';
import { FusionConfig } from './fusion/config.ts';
import { VISION_DEFAULTS } from './vision/detector.ts';

const Credentials = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}:\S{1,200}$/,
    'must be "id:secret" as the cloud issues an edge device',
  );

export const EdgeConfig = z
  .object({
    storeId: Id,
    /** The cloud's EdgeLink (host:port); absent: carts are kept and published live, reported nowhere. */
    cloud: z.string().optional(),
    /** The cloud's HTTP base URL, for the entry keys the edge checks codes with while offline. */
    cloudHttp: z.string().url().optional(),
    layout: z.string().optional(),
    catalog: z.string().optional(),
    /** A simulator recording to replay instead of the live store. */
    replay: z.string().optional(),
    mqttUrl: z.string().url().optional(),
    credentials: Credentials.optional(),
    /** The edge's own files: the outbox, cached entry keys. One edge process per directory. */
    stateDir: z.string().min(1).default('.walkout-edge'),
    /** Frames a second each camera hands the detector (the cameras stream 10). */
    detectFps: z.number().min(0).max(60).default(5),
    /** Frames in the detector at once: one per inference worker keeps them all busy. */
    detectInFlight: z.number().int().min(1).max(16).default(2),
    /** Detections kept from this score (the tracker's second stage uses the weak ones). */
    detectScore: z.number().min(0.01).max(1).default(VISION_DEFAULTS.scoreThreshold),
    /** Re-id embeddings for every person (identity through crowds, at 3–6 ms a frame). */
    reid: z.boolean().default(VISION_DEFAULTS.reid),
    /** Whose arm a hand near two heads is, by the arm-link model (models/arm-link). */
    armLinks: z.boolean().default(VISION_DEFAULTS.armLinks),
    /**
     * Live: the held-item model and classifier look at the hand's main-stream crop where the
     * weights cannot tell (weight twins, an item back on a plate that did not hold it). A replay has
     * no main stream and never looks.
     */
    secondLook: z.boolean().default(true),
    /** Inference worker threads; default min(2, cores). */
    workers: z.number().int().min(1).max(16).optional(),
    /** Threads each detector worker runs one inference on (onnxruntime intra-op); default 1. */
    detectThreads: z.number().int().min(1).max(16).optional(),
    /** Write the tracks as MOTChallenge files here (per camera and on the floor). */
    mot: z.string().optional(),
    /** Serve the evidence kept under the state directory over HTTP on this port; 0: not served. */
    evidencePort: z.number().int().min(0).max(65535).default(0),
    fusion: FusionConfig.default(FusionConfig.parse({})),
    /** Tunables of the other stages, each checked by its own schema. */
    weight: z.record(z.string(), z.unknown()).default({}),
    tracker: z.record(z.string(), z.unknown()).default({}),
    live: z.record(z.string(), z.unknown()).default({}),
    link: z.record(z.string(), z.unknown()).default({}),
    evidence: z.record(z.string(), z.unknown()).default({}),
    /**
     * The edge is the gates' authority (--gate-authority): it decides every GateScan (the cloud
     * asked over the link, the code checked offline when it cannot answer) and publishes the
     * GateCommand. Off: the gates' controllers ask the cloud themselves.
     */
    gateAuthority: z.boolean().default(false),
    /** The gate authority's `authority` broker account (env WALKOUT_GATE_AUTHORITY_CREDENTIALS). */
    authorityCredentials: Credentials.optional(),
    /** The gate authority's tunables (edge/link/gate-authority.ts). */
    gate: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .refine((c) => c.replay !== undefined || c.mqttUrl !== undefined, {
    message: 'live (without --replay) needs the broker: set MQTT_URL',
    path: ['mqttUrl'],
  })
  .refine((c) => c.replay !== undefined || c.credentials !== undefined, {
    message:
      'live (without --replay) needs the edge device credential in WALKOUT_EDGE_CREDENTIALS (id:secret): its broker login',
    path: ['credentials'],
  })
  .refine((c) => (c.layout === undefined) === (c.catalog === undefined), {
    message: '--layout and --catalog go together',
    path: ['catalog'],
  })
  .refine((c) => c.cloud === undefined || c.credentials !== undefined, {
    message: '--cloud needs the edge device credential in WALKOUT_EDGE_CREDENTIALS (id:secret)',
    path: ['credentials'],
  })
  .refine(
    (c) =>
      !c.gateAuthority ||
      (c.replay === undefined &&
        c.cloud !== undefined &&
        c.cloudHttp !== undefined &&
        c.authorityCredentials !== undefined),
    {
      message:
        '--gate-authority is live only and needs --cloud, --cloud-http (the entry keys for offline entries) and an authority device credential in WALKOUT_GATE_AUTHORITY_CREDENTIALS (id:secret)',
      path: ['gateAuthority'],
    },
  );
export type EdgeConfig = z.infer<typeof EdgeConfig>;

export function parseEdgeConfig(argv: string[], env: NodeJS.ProcessEnv): EdgeConfig {
  let values: Record<string, string | undefined>;
  let gateAuthority: boolean | undefined;
  try {
    const { values: parsed } = parseArgs({
      args: argv,
      options: {
        store: { type: 'string' },
        cloud: { type: 'string' },
        'cloud-http': { type: 'string' },
        layout: { type: 'string' },
        catalog: { type: 'string' },
        replay: { type: 'string' },
        state: { type: 'string' },
        'detect-fps': { type: 'string' },
        workers: { type: 'string' },
        'detect-threads': { type: 'string' },
        mot: { type: 'string' },
        'evidence-port': { type: 'string' },
        config: { type: 'string' },
        'gate-authority': { type: 'boolean' },
      },
      strict: true,
    });
    const { 'gate-authority': flag, ...strings } = parsed;
    gateAuthority = flag as boolean | undefined;
    values = strings as Record<string, string | undefined>;
  } catch (err) {
    throw new WalkoutError('CONFIG_INVALID', `edge: ${(err as Error).message}`);
  }
  const file = values.config ? readTunables(values.config) : {};
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const given = {
    ...file,
    storeId: values.store,
    cloud: values.cloud,
    cloudHttp: values['cloud-http'],
    layout: values.layout,
    catalog: values.catalog,
    replay: values.replay,
    mqttUrl: values.replay ? undefined : env.MQTT_URL || undefined,
    credentials: env.WALKOUT_EDGE_CREDENTIALS || undefined,
    stateDir: values.state ?? file.stateDir,
    detectFps: num(values['detect-fps']) ?? file.detectFps,
    workers: num(values.workers) ?? file.workers,
    detectThreads: num(values['detect-threads']) ?? file.detectThreads,
    mot: values.mot,
    evidencePort: num(values['evidence-port']) ?? file.evidencePort,
    gateAuthority: gateAuthority ?? file.gateAuthority,
    authorityCredentials: env.WALKOUT_GATE_AUTHORITY_CREDENTIALS || undefined,
  };
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return parseWith(EdgeConfig, defined, 'edge configuration', 'CONFIG_INVALID');
}

function readTunables(path: string): Record<string, unknown> {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new WalkoutError('CONFIG_INVALID', `edge --config ${path}: ${(err as Error).message}`);
  }
}
