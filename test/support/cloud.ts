import { type CloudOptions, type RunningCloud, startCloud } from '../../cloud/app.ts';
import { loadCloudConfig } from '../../cloud/config.ts';
import { createLogger } from '../../platform/log.ts';
import { freshDatabase, type TestDatabase } from './database.ts';

/**
 * A clock the test moves by hand; the cloud reads it for every decision. Frozen by default, so a
 * slow machine never lets a code expire under a test; a benchmark runs it on real time.
 */
export class TestClock {
  private readonly base = Date.now();
  private offset = 0;
  constructor(private readonly frozen = true) {}
  get ms(): number {
    return (this.frozen ? this.base : Date.now()) + this.offset;
  }
  now = (): Date => new Date(this.ms);
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface TestCloud extends RunningCloud {
  db: TestDatabase;
  clock: TestClock;
  /** JSON over HTTP against the running cloud, as any client would call it. */
  call(
    method: string,
    path: string,
    opts?: { body?: unknown; token?: string; basic?: string; raw?: string },
  ): Promise<{
    status: number;
    // biome-ignore lint/suspicious/noExplicitAny: responses are asserted field by field in tests
    body: any;
  }>;
  /** The Prometheus text the metrics port serves (not the public one). */
  metrics(): Promise<string>;
  /** Stops the process's servers but keeps the database, as a crash would, and starts anew. */
  restart(opts?: Extra): Promise<TestCloud>;
  /**
   * Stops the process's servers but keeps the database (the cloud is down for its clients); `up`
   * starts it again on the same HTTP and gRPC ports, so clients reconnect to the address they had.
   */
  down(): Promise<{ up(opts?: Extra): Promise<TestCloud> }>;
  stop(): Promise<void>;
}

type Extra = Pick<CloudOptions, 'settleCheckpoint' | 'link' | 'broker' | 'log'> & { realTime?: boolean };

export async function startTestCloud(
  label: string,
  env: Record<string, string> = {},
  extra: Extra = {},
): Promise<TestCloud> {
  const db = await freshDatabase(label);
  return boot(db, new TestClock(!extra.realTime), env, extra);
}

/** A cloud on a database already made (a copy of another test cloud's, say); it drops it at stop. */
export function startTestCloudOn(db: TestDatabase, extra: Extra = {}): Promise<TestCloud> {
  return boot(db, new TestClock(!extra.realTime), {}, extra);
}

async function boot(
  db: TestDatabase,
  clock: TestClock,
  env: Record<string, string>,
  extra: Extra,
): Promise<TestCloud> {
  const config = loadCloudConfig({
    PORT: '0',
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    HOST: '127.0.0.1',
    SCRYPT_COST: '1024',
    ...env,
  });
  const { realTime: _, ...options } = extra;
  const cloud = await startCloud(config, {
    databaseUrl: db.url,
    now: clock.now,
    log: createLogger('cloud-test'),
    ...options,
  });
  const call: TestCloud['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = {};
    if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.basic) headers.authorization = `Basic ${Buffer.from(opts.basic).toString('base64')}`;
    const res = await fetch(`${cloud.httpUrl}${path}`, {
      method,
      headers,
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
    };
  };
  return {
    ...cloud,
    db,
    clock,
    call,
    metrics: async () => (await fetch(`${cloud.metricsUrl}/metrics`)).text(),
    restart: async (next = {}) => {
      await cloud.close();
      return boot(db, clock, env, next);
    },
    down: async () => {
      await cloud.close();
      const ports = {
        PORT: new URL(cloud.httpUrl).port,
        GRPC_PORT: cloud.grpcAddress.slice(cloud.grpcAddress.lastIndexOf(':') + 1),
      };
      return { up: (next = {}) => boot(db, clock, { ...env, ...ports }, next) };
    },
    stop: async () => {
      await cloud.close();
      await db.close();
    },
  };
}

/** A shopper made through the public API: signed up, with a sandbox test card. */
export async function newShopper(
  cloud: TestCloud,
  card: string | null = '4242424242424242',
): Promise<{ id: string; token: string }> {
  const email = `s${Math.random().toString(36).slice(2)}@example.test`;
  const signUp = await cloud.call('POST', '/v1/shoppers', {
    body: { email, password: 'correct horse battery', name: 'Test' },
  });
  if (signUp.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(signUp.body)}`);
  const token = signUp.body.accessToken as string;
  if (card) {
    const t = await cloud.call('POST', '/sandbox/v1/tokens', {
      body: { number: card, expMonth: 12, expYear: 2099, cvc: '123' },
    });
    const added = await cloud.call('POST', '/v1/me/payment-methods', {
      token,
      body: { token: t.body.token },
    });
    if (added.status !== 201) throw new Error(`adding card failed: ${JSON.stringify(added.body)}`);
  }
  return { id: signUp.body.shopperId, token };
}

/** The shopper's newest issued receipt, once settlement has issued one. */
// biome-ignore lint/suspicious/noExplicitAny: asserted field by field in tests
export async function issuedReceipt(cloud: TestCloud, token: string, timeoutMs = 10_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const r = await cloud.call('GET', '/v1/me/receipts', { token });
    if (r.body.length > 0) return r.body[0];
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error('no receipt');
}
