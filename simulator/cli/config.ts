import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseWith } from '../../proto/index.ts';

/** The simulator process's whole configuration: flags and environment, validated once at start-up. */
export const SimConfig = z
  .object({
    scenario: z.string().min(1).default('baseline'),
    seed: z.coerce.number().int().nonnegative().default(1),
    minutes: z.coerce
      .number()
      .positive()
      .max(24 * 60)
      .default(10),
    speed: z.coerce.number().positive().max(10_000).optional(),
    record: z.string().min(1).optional(),
    out: z.string().min(1),
    layout: z.string().optional(),
    catalog: z.string().optional(),
    /** Recording without frames: device traffic and ground truth only, for speed. */
    noCameras: z.boolean().default(false),
    /** Where cameras serve their streams in live mode; 0 picks a free port. */
    cameraPort: z.coerce.number().int().min(0).max(65535).default(8090),
    /**
     * local: the simulated gate checks codes itself; remote: it waits for commands over MQTT.
     * Unset: local, or remote when a cloud decides.
     */
    gateAuthority: z.enum(['local', 'remote']).optional(),
    mqttUrl: z.string().url().optional(),
    /** The cloud's HTTP address: shoppers sign up and fetch codes there, entry gates ask it. */
    cloud: z.string().url().optional(),
    /** The entry gate controller's device credential at the cloud, `id:secret`. */
    gateCredentials: z
      .string()
      .regex(/^[^:\s]+:\S+$/, 'must be "id:secret"')
      .optional(),
    progress: z.boolean().default(true),
  })
  .strict()
  .refine((c) => !(c.speed !== undefined && c.record !== undefined), {
    message: '--speed and --record exclude each other',
    path: ['speed'],
  })
  .refine((c) => c.cloud === undefined || c.gateCredentials !== undefined, {
    message: '--cloud needs the gate device credentials (--gate-credentials or WALKOUT_GATE_CREDENTIALS)',
    path: ['gateCredentials'],
  })
  .refine((c) => c.cloud === undefined || c.gateAuthority !== 'local', {
    message: 'with --cloud the cloud decides at the gates; --gate-authority local contradicts it',
    path: ['gateAuthority'],
  });

export type SimConfig = z.infer<typeof SimConfig>;

export function parseSimConfig(argv: string[], env: NodeJS.ProcessEnv): SimConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string' },
      seed: { type: 'string' },
      minutes: { type: 'string' },
      speed: { type: 'string' },
      record: { type: 'string' },
      out: { type: 'string' },
      layout: { type: 'string' },
      catalog: { type: 'string' },
      'no-cameras': { type: 'boolean' },
      'camera-port': { type: 'string' },
      'gate-authority': { type: 'string' },
      'no-progress': { type: 'boolean' },
      cloud: { type: 'string' },
      'gate-credentials': { type: 'string' },
    },
    strict: true,
  });
  const raw = {
    scenario: values.scenario,
    seed: values.seed,
    minutes: values.minutes,
    speed: values.speed,
    record: values.record,
    out: values.out,
    layout: values.layout,
    catalog: values.catalog,
    noCameras: values['no-cameras'],
    cameraPort: values['camera-port'] ?? env.CAMERA_PORT,
    gateAuthority: values['gate-authority'],
    mqttUrl: env.MQTT_URL || undefined,
    cloud: values.cloud ?? (env.WALKOUT_CLOUD_URL || undefined),
    // From the environment, so that the secret stays out of process listings.
    gateCredentials: values['gate-credentials'] ?? (env.WALKOUT_GATE_CREDENTIALS || undefined),
    progress: values['no-progress'] ? false : undefined,
  };
  return parseWith(
    SimConfig,
    Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)),
    'simulator flags',
    'CONFIG_INVALID',
  );
}
