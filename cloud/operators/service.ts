import { WalkoutError } from '../../proto/index.ts';
import { hashPassword, verifyPassword } from '../accounts/passwords.ts';
import { type AccessKey, type Principal, signAccessToken } from '../accounts/tokens.ts';
import { type Db, inTransaction } from '../db/pool.ts';

export interface NewOperator {
  email: string;
  password: string;
  name: string;
  role: 'operator' | 'admin';
  stores: string[];
}

export async function createOperator(db: Db, op: NewOperator, scryptCost: number): Promise<string> {
  const hash = await hashPassword(op.password, scryptCost);
  return inTransaction(db, async (tx) => {
    const row = await tx.query<{ id: string }>(
      `insert into operators (email, password_hash, name, role) values ($1, $2, $3, $4)
       on conflict (lower(email)) do nothing returning id`,
      [op.email, hash, op.name, op.role],
    );
    const id = row.rows[0]?.id;
    if (!id) throw new WalkoutError('EMAIL_TAKEN', `an operator ${op.email} already exists`);
    for (const store of op.stores) {
      await tx.query('insert into operator_stores (operator_id, store_id) values ($1, $2)', [id, store]);
    }
    return id;
  });
}

export async function signInOperator(
  db: Db,
  key: AccessKey,
  nowMs: number,
  ttlS: number,
  input: { email: string; password: string },
): Promise<{
  operatorId: string;
  role: Principal['role'];
  stores: string[];
  accessToken: string;
  expiresIn: number;
}> {
  const { rows } = await db.query<{ id: string; password_hash: string; role: 'operator' | 'admin' }>(
    'select id, password_hash, role from operators where lower(email) = lower($1)',
    [input.email],
  );
  const op = rows[0];
  if (!op || !(await verifyPassword(input.password, op.password_hash))) {
    throw new WalkoutError('CREDENTIALS_INVALID', 'email or password is wrong');
  }
  const stores = await storesOf(db, op.id);
  const accessToken = await signAccessToken({ sub: op.id, role: op.role, stores }, key, nowMs, ttlS);
  return { operatorId: op.id, role: op.role, stores, accessToken, expiresIn: ttlS };
}

export async function storesOf(db: Db, operatorId: string): Promise<string[]> {
  const { rows } = await db.query<{ store_id: string }>(
    'select store_id from operator_stores where operator_id = $1 order by 1',
    [operatorId],
  );
  return rows.map((r) => r.store_id);
}

/**
 * Scope is read from the database on every request rather than trusted from the token, so taking
 * a store away from an operator takes effect at once.
 */
export async function requireStore(db: Db, p: Principal, storeId: string, role?: 'admin'): Promise<void> {
  if (role === 'admin' && p.role !== 'admin') throw new WalkoutError('FORBIDDEN', 'this needs an admin');
  const { rowCount } = await db.query(
    'select 1 from operator_stores where operator_id = $1 and store_id = $2',
    [p.sub, storeId],
  );
  if (!rowCount) throw new WalkoutError('FORBIDDEN', `not an operator of store ${storeId}`);
}
