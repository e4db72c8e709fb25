import { z } from 'zod';
import { parseWith } from '../proto/index.ts';

const Port = z.coerce.number().int().min(0).max(65535);

/** The cloud process's whole configuration, read once from the environment at start-up. */
const CloudShape = {
  PORT: Port.default(8080).describe('HTTP port (the app, gate controllers, operators); 0 picks a free one'),
  GRPC_PORT: Port.default(50051).describe('gRPC port for edge links; 0 picks a free one'),
  HOST: z.string().min(1).default('0.0.0.0').describe('interface both servers listen on'),
  METRICS_PORT: Port.default(9464).describe(
    'Prometheus /metrics, apart from the public port (it tells traffic, routes and refusals); 0 picks a free one',
  ),
  METRICS_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('interface /metrics listens on: loopback unless a scraper on another host needs it'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional()
    .describe('PostgreSQL; unset starts an embedded server (demo only)'),
  DB_POOL_SIZE: z.coerce
    .number()
    .int()
    .min(2)
    .max(500)
    .default(10)
    .describe('PostgreSQL connections the process keeps; concurrent commits share the WAL flush'),
  ENTRY_CODE_TTL_S: z.coerce
    .number()
    .int()
    .min(5)
    .max(30)
    .default(30)
    .describe('how long an entry QR code is valid; the app refreshes it before then'),
  ENTRY_CLOCK_SKEW_S: z.coerce
    .number()
    .int()
    .min(0)
    .max(10)
    .default(2)
    .describe('tolerance for the clock of the cloud instance that issued a code running ahead of ours'),
  GATE_RETRY_WINDOW_S: z.coerce
    .number()
    .int()
    .min(0)
    .max(600)
    .default(60)
    .describe(
      'after an entry code expires, how long the gate that opened for it still gets the same answer when it asks again (a lost answer, a party scanning once per member)',
    ),
  OPEN_VISIT_TIMEOUT_MIN: z.coerce
    .number()
    .min(0.05)
    .max(7 * 24 * 60)
    .default(60)
    .describe(
      'an open visit no edge has reported anything on (no member entered, no cart event) for this long ends `expired` and its hold is released',
    ),
  HOLD_AMOUNT_MINOR: z.coerce
    .number()
    .int()
    .positive()
    .default(5000)
    .describe('pre-authorisation hold placed at entry, in minor units of CURRENCY'),
  CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR')
    .default('EUR'),
  ACCESS_TOKEN_TTL_S: z.coerce.number().int().min(60).max(3600).default(900),
  REFRESH_TOKEN_TTL_S: z.coerce
    .number()
    .int()
    .min(3600)
    .default(30 * 24 * 3600),
  PERSONAL_DATA_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3650)
    .default(30)
    .describe('track positions and evidence older than this are deleted'),
  PAYMENT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(10)
    .default(5000)
    .describe('a payment provider call that takes longer is treated as unavailable'),
  SCRYPT_COST: z.coerce
    .number()
    .int()
    .refine((n) => n >= 1024 && (n & (n - 1)) === 0, 'a power of two ≥ 1024')
    .default(16384)
    .describe('scrypt N for password hashes'),
  PAYMENT_PROVIDER: z.enum(['sandbox', 'stripe']).default('sandbox').describe('who moves the money'),
  STRIPE_API_KEY: z.string().min(1).optional().describe('secret key; required with PAYMENT_PROVIDER=stripe'),
  STRIPE_API_BASE: z
    .url()
    .default('https://api.stripe.com')
    .describe("Stripe's API, or stripe-mock's address"),
  MQTT_URL: z
    .string()
    .regex(/^mqtts?:\/\//, 'must be an mqtt:// or mqtts:// URL')
    .optional()
    .describe("the stores' broker, where the device API makes each device's account (with MQTT_ADMIN)"),
  MQTT_ADMIN: z
    .string()
    .regex(/^[^:]+:.+$/, 'must be user:password')
    .optional()
    .describe(
      "the broker's dynamic-security admin, as scripts/services.sh prints it; unset: no broker accounts",
    ),
  SETTLE_SWEEP_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(5000)
    .describe('how often closed visits left unsettled (a crash, an unavailable provider) are tried again'),
};

export const CloudConfig = z
  .object(CloudShape)
  .strict()
  .refine((c) => c.PAYMENT_PROVIDER !== 'stripe' || c.STRIPE_API_KEY, {
    path: ['STRIPE_API_KEY'],
    message: 'required when PAYMENT_PROVIDER=stripe',
  })
  .refine((c) => !c.MQTT_ADMIN || c.MQTT_URL, { path: ['MQTT_URL'], message: 'required with MQTT_ADMIN' });

export type CloudConfig = z.infer<typeof CloudConfig>;

/** Only the variables this process owns; the rest of the environment is not its business. */
export function loadCloudConfig(env: NodeJS.ProcessEnv = process.env): CloudConfig {
  const own = Object.fromEntries(
    Object.keys(CloudShape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  return Object.freeze(parseWith(CloudConfig, own, 'cloud configuration', 'CONFIG_INVALID'));
}
