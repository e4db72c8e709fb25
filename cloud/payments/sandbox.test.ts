import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { freshDatabase, type TestDatabase } from '../../test/support/database.ts';
import { migrateUp } from '../db/migrate.ts';
import { createPool, type Db } from '../db/pool.ts';
import type { PaymentProvider } from './provider.ts';
import { createSandboxProvider } from './sandbox.ts';
import { tokeniseCard } from './sandbox-cards.ts';

let database: TestDatabase;
let db: Db;
let sandbox: PaymentProvider;
const card = (number: string) => {
  const t = tokeniseCard({ number, expMonth: 12, expYear: 2099, cvc: '123' }, new Date());
  if (!t.ok) throw new Error(t.message);
  return t.token;
};
const hold = (key: string, token: string, amountMinor = 5000) =>
  sandbox.authorise({ idempotencyKey: key, token, amountMinor, currency: 'EUR', description: 'test' });
const payments = async (token: string) =>
  (await db.query('select ref from sandbox_payments where token = $1', [token])).rows.length;

beforeAll(async () => {
  database = await freshDatabase('sandbox');
  db = createPool(database.url);
  await migrateUp(db, createLogger('sandbox-test'));
  sandbox = createSandboxProvider(db, { hangMs: 50 });
});
afterAll(async () => {
  await db.end();
  await database.close();
});

describe('the sandbox provider', () => {
  it('answers a repeated key with its first answer, and concurrent calls with one key place one hold', async () => {
    const token = card('4242424242424242');
    const answers = await Promise.all(Array.from({ length: 8 }, () => hold('k-1', token)));
    const refs = new Set(answers.map((a) => (a.outcome === 'succeeded' ? a.ref : a.outcome)));
    expect(refs.size).toBe(1);
    expect([...refs][0]).toMatch(/^sbx_pi_/);
    expect(await payments(token)).toBe(1);
    expect(await hold('k-1', token)).toEqual(answers[0]);
    expect(await sandbox.status([...refs][0]!)).toBe('held');
  });

  it('refuses a key reused for a different request, and moves no money for it', async () => {
    const token = card('4242424242424242');
    expect((await hold('k-2', token, 5000)).outcome).toBe('succeeded');
    const other = await hold('k-2', token, 9000);
    expect(other).toMatchObject({ outcome: 'failed', code: 'idempotency_mismatch' });
    const charge = await sandbox.charge({
      idempotencyKey: 'k-2',
      token,
      amountMinor: 5000,
      currency: 'EUR',
      description: 'test',
    });
    expect(charge).toMatchObject({ outcome: 'failed', code: 'idempotency_mismatch' });
    expect(await payments(token)).toBe(1);
  });

  it('remembers declines but not failures, which the same key may retry', async () => {
    const declines = card('4000000000000002');
    expect(await hold('k-3', declines)).toMatchObject({ outcome: 'declined', code: 'card_declined' });
    const remembered = await db.query('select outcome from sandbox_operations where idempotency_key = $1', [
      'k-3',
    ]);
    expect(remembered.rows).toHaveLength(1);
    expect(await payments(declines)).toBe(0);
    const fails = card('4000000000000119');
    expect(await hold('k-4', fails)).toMatchObject({ outcome: 'failed', code: 'processing_error' });
    const forgotten = await db.query('select 1 from sandbox_operations where idempotency_key = $1', ['k-4']);
    expect(forgotten.rows).toHaveLength(0);
    expect(await hold('k-5', card('4000000000006975'))).toMatchObject({ outcome: 'failed', code: 'timeout' });
  });

  it('captures up to the hold once, and refunds no more than was captured', async () => {
    const token = card('4242424242424242');
    const h = await hold('k-6', token, 5000);
    if (h.outcome !== 'succeeded') throw new Error('no hold');
    const over = await sandbox.capture({ idempotencyKey: 'c-0', holdRef: h.ref, amountMinor: 5001 });
    expect(over).toMatchObject({ outcome: 'declined', code: 'amount_too_large' });
    const cap = await Promise.all(
      [1, 2].map(() => sandbox.capture({ idempotencyKey: 'c-1', holdRef: h.ref, amountMinor: 3000 })),
    );
    expect(cap[0]).toEqual(cap[1]);
    const again = await sandbox.capture({ idempotencyKey: 'c-2', holdRef: h.ref, amountMinor: 1000 });
    expect(again).toMatchObject({ outcome: 'declined', code: 'hold_closed' });
    expect(
      (await sandbox.refund({ idempotencyKey: 'r-1', paymentRef: h.ref, amountMinor: 2000 })).outcome,
    ).toBe('succeeded');
    const tooMuch = await sandbox.refund({ idempotencyKey: 'r-2', paymentRef: h.ref, amountMinor: 1001 });
    expect(tooMuch).toMatchObject({ outcome: 'declined', code: 'amount_too_large' });
    expect(await sandbox.status(h.ref)).toBe('partially_refunded');
  });
});
