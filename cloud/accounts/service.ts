import { WalkoutError } from '../../proto/index.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import type { PaymentProvider } from '../payments/provider.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { type AccessKey, hashSecret, newRefreshToken, signAccessToken } from './tokens.ts';

export interface AccountDeps {
  db: Db;
  provider: PaymentProvider;
  accessKey: AccessKey;
  now: () => Date;
  accessTtlS: number;
  refreshTtlS: number;
  scryptCost: number;
}

export interface Session {
  shopperId: string;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface Profile {
  id: string;
  email: string;
  name: string;
  loyaltyPoints: number;
  createdAt: string;
}

export interface PaymentMethod {
  id: string;
  provider: string;
  brand: string;
  last4: string;
  createdAt: string;
}

async function openSession(deps: AccountDeps, shopperId: string): Promise<Session> {
  const refresh = newRefreshToken();
  await deps.db.query('insert into refresh_tokens (token_hash, shopper_id, expires_at) values ($1, $2, $3)', [
    refresh.hash,
    shopperId,
    new Date(deps.now().getTime() + deps.refreshTtlS * 1000),
  ]);
  const accessToken = await signAccessToken(
    { sub: shopperId, role: 'shopper', stores: [] },
    deps.accessKey,
    deps.now().getTime(),
    deps.accessTtlS,
  );
  return { shopperId, accessToken, refreshToken: refresh.token, expiresIn: deps.accessTtlS };
}

export async function signUp(
  deps: AccountDeps,
  input: { email: string; password: string; name: string },
): Promise<Session> {
  const hash = await hashPassword(input.password, deps.scryptCost);
  const id = await inTransaction(deps.db, async (tx) => {
    const row = await tx.query<{ id: string }>(
      `insert into shoppers (email, password_hash, name) values ($1, $2, $3)
       on conflict (lower(email)) do nothing returning id`,
      [input.email, hash, input.name],
    );
    const created = row.rows[0];
    if (!created) throw new WalkoutError('EMAIL_TAKEN', `an account for ${input.email} already exists`);
    await tx.query('insert into loyalty_accounts (shopper_id) values ($1)', [created.id]);
    return created.id;
  });
  return openSession(deps, id);
}

export async function signIn(
  deps: AccountDeps,
  input: { email: string; password: string },
): Promise<Session> {
  const { rows } = await deps.db.query<{ id: string; password_hash: string }>(
    'select id, password_hash from shoppers where lower(email) = lower($1)',
    [input.email],
  );
  const row = rows[0];
  // The same answer for an unknown email and a wrong password, so sign-in does not reveal accounts.
  if (!row || !(await verifyPassword(input.password, row.password_hash))) {
    throw new WalkoutError('CREDENTIALS_INVALID', 'email or password is wrong');
  }
  return openSession(deps, row.id);
}

/** Exchanges a refresh token for a new session; each refresh token works once. */
export async function refresh(deps: AccountDeps, refreshToken: string): Promise<Session> {
  const { rows } = await deps.db.query<{ shopper_id: string }>(
    `update refresh_tokens set used_at = $2
     where token_hash = $1 and used_at is null and expires_at > $2 returning shopper_id`,
    [hashSecret(refreshToken), deps.now()],
  );
  const row = rows[0];
  if (!row) throw new WalkoutError('UNAUTHENTICATED', 'refresh token is unknown, used or expired');
  return openSession(deps, row.shopper_id);
}

export async function profile(db: Db, shopperId: string): Promise<Profile> {
  const { rows } = await db.query<{
    id: string;
    email: string;
    name: string;
    points: number;
    created_at: Date;
  }>(
    `select s.id, s.email, s.name, coalesce(l.points, 0)::bigint as points, s.created_at
     from shoppers s left join loyalty_accounts l on l.shopper_id = s.id where s.id = $1`,
    [shopperId],
  );
  const r = rows[0];
  if (!r) throw new WalkoutError('UNAUTHENTICATED', 'the account of this token no longer exists');
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    loyaltyPoints: r.points,
    createdAt: r.created_at.toISOString(),
  };
}

export async function rename(db: Db, shopperId: string, name: string): Promise<Profile> {
  await db.query('update shoppers set name = $2 where id = $1', [shopperId, name]);
  return profile(db, shopperId);
}

interface MethodRow {
  id: string;
  provider: string;
  brand: string;
  last4: string;
  created_at: Date;
}

const toMethod = (r: MethodRow) => ({
  id: r.id,
  provider: r.provider,
  brand: r.brand,
  last4: r.last4,
  createdAt: r.created_at.toISOString(),
});

/** Stores the provider's token for a card the app tokenised with the provider; never a card number. */
export async function addPaymentMethod(
  deps: AccountDeps,
  shopperId: string,
  token: string,
): Promise<PaymentMethod> {
  const card = await deps.provider.describe(token);
  if (!card) {
    throw new WalkoutError(
      'PAYMENT_METHOD_REJECTED',
      `${deps.provider.name} does not know this payment token`,
    );
  }
  const { rows } = await deps.db.query<MethodRow>(
    `insert into payment_methods (shopper_id, provider, provider_token, brand, last4)
     values ($1, $2, $3, $4, $5) returning id, provider, brand, last4, created_at`,
    [shopperId, deps.provider.name, token, card.brand, card.last4],
  );
  return toMethod(rows[0]!);
}

export async function listPaymentMethods(db: Db, shopperId: string): Promise<PaymentMethod[]> {
  const { rows } = await db.query<MethodRow>(
    `select id, provider, brand, last4, created_at from payment_methods
     where shopper_id = $1 and removed_at is null order by created_at desc`,
    [shopperId],
  );
  return rows.map(toMethod);
}

export async function removePaymentMethod(
  db: Db,
  shopperId: string,
  id: string,
  now: Date,
): Promise<boolean> {
  const r = await db.query(
    'update payment_methods set removed_at = $3 where id = $1 and shopper_id = $2 and removed_at is null',
    [id, shopperId, now],
  );
  return (r.rowCount ?? 0) > 0;
}
