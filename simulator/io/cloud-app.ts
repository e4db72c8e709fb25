import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../../platform/log.ts';
import type { ShopperApp } from '../agents/ports.ts';
import { cloudCall, failedStatus } from './cloud-http.ts';
import type { InFlight } from './in-flight.ts';
import { createReceiptWatch, type ReceiptStats, type ReceiptWatchConfig } from './receipt-watch.ts';

/**
 * Test cards of the cloud's sandbox payment provider, copied from cloud/payments/sandbox-cards.ts
 * because the simulator may not import the cloud. The number alone decides what every payment made
 * with the card does.
 */
export const SANDBOX_CARDS = {
  succeeds: '4242424242424242',
  declines: '4000000000000002',
} as const;

const Session = z.object({
  shopperId: z.string(),
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number(),
});
type Session = z.infer<typeof Session>;
const CardToken = z.object({ token: z.string() });
const Method = z.object({ id: z.string() });
const EntryCode = z.object({ code: z.string().min(1) });
const Receipts = z.array(z.object({ id: z.string() }));

/** The access token is renewed this long before the cloud says it expires. */
const RENEW_EARLY_MS = 30_000;

interface Account {
  email: string;
  access: string;
  refresh: string;
  renewAtMs: number;
  renewing: Promise<void> | null;
}

export interface CloudAppOptions {
  /** The cloud's HTTP address, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  /** Makes the emails of a run its own, so that runs against one cloud never share an account. */
  runTag?: string;
  /** The sandbox card a person adds when signing up (default: one that succeeds). */
  cardFor?: (personId: string) => string;
  inFlight?: InFlight;
  log?: Logger;
  /** Wall clock (ms) for the access token's lifetime and the receipts' wait. */
  now?: () => number;
  /** How the phones wait for their receipts after walking out. */
  receipts?: Partial<ReceiptWatchConfig>;
}

export interface CloudApp extends ShopperApp {
  readonly runTag: string;
  emailOf(personId: string): string;
  /** Persons with an account so far. */
  readonly accounts: number;
  visitOver(visit: { visitId: string; tsMs: number }): void;
  /** Receipts the phones waited for after their visits ended. */
  receipts(): ReceiptStats;
  /** Stops waiting for receipts. */
  close(): void;
}

/**
 * The store app on the cloud's public API, as a phone would use it: each person signs up once, on
 * first asking for a code, and adds a sandbox card; every code is then a fresh one from the cloud.
 * Staff get accounts and codes the same way, since the cloud knows no staff entry. A failed request
 * rejects, which the agent takes as "no code". Once a visit's party has walked out, its payer's
 * phone polls its receipts until the new one shows (receipt-watch.ts).
 */
export function createCloudApp(opts: CloudAppOptions): CloudApp {
  const runTag = opts.runTag ?? `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const password = `sim-${randomBytes(12).toString('base64url')}`;
  const now = opts.now ?? Date.now;
  const cardFor = opts.cardFor ?? (() => SANDBOX_CARDS.succeeds);
  const accounts = new Map<string, Promise<Account>>();
  const call = <T>(
    method: 'GET' | 'POST',
    path: string,
    out: z.ZodType<T>,
    o?: Parameters<typeof cloudCall>[4],
  ) => cloudCall(opts.baseUrl, method, path, out, o);
  const emailOf = (personId: string) => `${personId}.${runTag}@sim.walkout.test`.toLowerCase();

  const adopt = (email: string, s: Session): Account => ({
    email,
    access: s.accessToken,
    refresh: s.refreshToken,
    renewAtMs: now() + s.expiresIn * 1000 - RENEW_EARLY_MS,
    renewing: null,
  });
  const signIn = (email: string) => call('POST', '/v1/sessions', Session, { body: { email, password } });

  async function signUp(personId: string, role: string): Promise<Account> {
    const email = emailOf(personId);
    const name = `Simulated ${role} ${personId}`;
    const session = await call('POST', '/v1/shoppers', Session, { body: { email, password, name } }).catch(
      // Signed up by an earlier attempt whose answer was lost: the account is there.
      (err: unknown) => (failedStatus(err) === 409 ? signIn(email) : Promise.reject(err)),
    );
    const account = adopt(email, session);
    const card = await call('POST', '/sandbox/v1/tokens', CardToken, {
      body: {
        number: cardFor(personId),
        expMonth: 12,
        expYear: new Date(now()).getUTCFullYear() + 5,
        cvc: '123',
      },
    });
    await call('POST', '/v1/me/payment-methods', Method, {
      body: { token: card.token },
      auth: { bearer: account.access },
    });
    return account;
  }

  /** A refresh token is good once; when it is refused the password opens a new session. */
  function renew(a: Account): Promise<void> {
    a.renewing ??= (async () => {
      const s = await call('POST', '/v1/sessions/refresh', Session, {
        body: { refreshToken: a.refresh },
      }).catch(() => signIn(a.email));
      Object.assign(a, adopt(a.email, s));
    })().finally(() => {
      a.renewing = null;
    });
    return a.renewing;
  }

  async function entryCode(a: Account, companions: number): Promise<string> {
    if (now() >= a.renewAtMs) await renew(a);
    const ask = () =>
      call('POST', '/v1/me/entry-codes', EntryCode, { body: { companions }, auth: { bearer: a.access } });
    const issued = await ask().catch(async (err: unknown) => {
      if (failedStatus(err) !== 401) throw err;
      await renew(a);
      return ask();
    });
    return issued.code;
  }

  /** A request with the person's access token, renewed when it is due or refused. */
  async function asPerson<T>(personId: string, request: (bearer: string) => Promise<T>): Promise<T> {
    const a = await accounts.get(personId)!;
    if (now() >= a.renewAtMs) await renew(a);
    return request(a.access).catch(async (err: unknown) => {
      if (failedStatus(err) !== 401) throw err;
      await renew(a);
      return request(a.access);
    });
  }

  /** The simulator's visit ids to the person who asked its code (the payer), until it is over. */
  const payers = new Map<string, string>();
  const watch = createReceiptWatch({
    now,
    ...(opts.receipts ? { config: opts.receipts } : {}),
    ...(opts.log ? { log: opts.log.child('receipts') } : {}),
    list: async (personId) =>
      (
        await asPerson(personId, (bearer) => call('GET', '/v1/me/receipts', Receipts, { auth: { bearer } }))
      ).map((r) => r.id),
  });

  function account(personId: string, role: string): Promise<Account> {
    let a = accounts.get(personId);
    if (!a) {
      a = signUp(personId, role);
      accounts.set(personId, a);
      // A failed sign-up is tried afresh on the next request instead of failing for good.
      a.catch(() => accounts.delete(personId));
    }
    return a;
  }

  return {
    runTag,
    emailOf,
    get accounts() {
      return accounts.size;
    },
    receipts: () => watch.stats(),
    close: () => watch.close(),
    visitOver: ({ visitId }) => {
      const personId = payers.get(visitId);
      payers.delete(visitId);
      // A visit let in on a code from this app; its payer's account exists (it issued the code).
      if (personId && accounts.has(personId)) watch.walkedOut(personId);
    },
    requestEntryCode: ({ personId, visitId, role, companions }) => {
      payers.set(visitId, personId);
      const code = account(personId, role).then((a) => entryCode(a, companions));
      code.catch((err: unknown) =>
        opts.log?.warn('no entry code from the cloud', { personId, role, err: (err as Error).message }),
      );
      return opts.inFlight ? opts.inFlight.track(code) : code;
    },
  };
}
