import { z } from 'zod';
import { parseWith } from '../../proto/index.ts';

/** Device ids and secrets as the cloud's device API issues them (`edge-<hex>`, base64url). */
const Credentials = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}:[A-Za-z0-9_-]{1,200}$/,
    'id:secret as POST /v1/ops/stores/{storeId}/devices with kind edge returns them',
  )
  .transform((s) => {
    const colon = s.indexOf(':');
    return { id: s.slice(0, colon), secret: s.slice(colon + 1) };
  });

export const BackoffConfig = z
  .object({
    initialMs: z
      .number()
      .int()
      .min(1)
      .default(250)
      .describe('wait before the first reconnect after the stream drops'),
    maxMs: z
      .number()
      .int()
      .min(1)
      .default(15_000)
      .describe('the longest wait between reconnects, however long the cloud stays away'),
    factor: z.number().min(1).default(2).describe('each failed attempt multiplies the wait by this'),
    jitter: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('up to this share of each wait is taken off at random, so edges do not reconnect in step'),
  })
  .strict();
export type BackoffConfig = z.infer<typeof BackoffConfig>;

/** The EdgeLink's part of the edge configuration. */
export const LinkConfig = z
  .object({
    address: z
      .string()
      .regex(/^[^\s/:]+:\d{1,5}$/, 'host:port of the cloud’s EdgeLink gRPC server')
      .describe('where the cloud’s EdgeLink listens (its GRPC_PORT)'),
    httpUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('the cloud’s HTTP base URL; StoreConfig.entry_keys_url is relative to it'),
    credentials: Credentials.describe('this edge device’s id:secret (env WALKOUT_EDGE_CREDENTIALS)'),
    outboxDir: z.string().min(1).describe('directory of the durable outbox (one edge process per directory)'),
    tls: z
      .object({ caFile: z.string().min(1).optional() })
      .strict()
      .optional()
      .describe('TLS to the cloud; absent: plain HTTP/2 (a trusted network or a local proxy)'),
    software: z.string().min(1).max(200).default('walkout-edge').describe('sent in Hello'),
    backoff: BackoffConfig.default({ initialMs: 250, maxMs: 15_000, factor: 2, jitter: 0.5 }),
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(256)
      .describe('reports read from the outbox at a time when sending; bounds what the link holds in memory'),
    entryKeysFile: z
      .string()
      .min(1)
      .optional()
      .describe('where the entry keys are cached for offline entries; default entry-keys.json in outboxDir'),
    entryKeysRefreshMs: z
      .number()
      .int()
      .min(1000)
      .default(3_600_000)
      .describe('fetch the entry keys this often besides at each StoreConfig, so a rotated key is known'),
    entryClockSkewS: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(2)
      .describe(
        'offline entries: a code issued up to this far in the future still passes (the cloud’s ENTRY_CLOCK_SKEW_S)',
      ),
    welcomeTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(10_000)
      .describe('a stream the cloud has not welcomed this long after opening it is dropped and reopened'),
    maxInFlight: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe(
        'reports sent but not yet acknowledged, at most: a backlog then never fills the cloud’s queue, so a gate scan is not stuck behind it',
      ),
    keepaliveMs: z
      .number()
      .int()
      .min(1000)
      .default(10_000)
      .describe('ping the cloud this often, so a silently dead connection is noticed and replaced'),
    keepaliveTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(5_000)
      .describe('a ping unanswered this long ends the connection'),
  })
  .strict();
export type LinkConfig = z.infer<typeof LinkConfig>;
export type LinkConfigInput = z.input<typeof LinkConfig>;

/**
 * The link's configuration from the edge config's `link` section, with the credentials from the
 * environment (never from a file that might be committed). Throws CONFIG_INVALID naming the field.
 */
export function loadLinkConfig(section: unknown, env: NodeJS.ProcessEnv = process.env): LinkConfig {
  const base = typeof section === 'object' && section !== null ? section : {};
  const withCredentials =
    env.WALKOUT_EDGE_CREDENTIALS === undefined
      ? base
      : { ...base, credentials: env.WALKOUT_EDGE_CREDENTIALS };
  return Object.freeze(parseWith(LinkConfig, withCredentials, 'edge link configuration', 'CONFIG_INVALID'));
}
