import { randomUUID } from 'node:crypto';
import { batcher } from '../db/batch.ts';
import { type Db, inTransaction, type Queryable, type Tx } from '../db/pool.ts';
import type { PaymentProvider, PaymentStatus, ProviderOutcome } from './provider.ts';
import { parseSandboxToken, type SandboxBehaviour } from './sandbox-cards.ts';

export interface SandboxOptions {
  /** How long a `times_out` card keeps the caller waiting before it answers. */
  hangMs?: number;
}

interface Row {
  ref: string;
  kind: 'hold' | 'charge';
  token: string;
  amount_minor: number;
  captured_minor: number;
  refunded_minor: number;
  released: boolean;
}

/** The answer a key was first given, or, for a key first used for another request, a refusal. */
async function firstAnswer(
  q: Queryable,
  key: string,
  operation: string,
  request: Record<string, unknown>,
): Promise<ProviderOutcome | null> {
  const { rows } = await q.query<{ operation: string; request: unknown; outcome: ProviderOutcome }>(
    'select operation, request, outcome from sandbox_operations where idempotency_key = $1',
    [key],
  );
  const first = rows[0];
  if (!first) return null;
  if (first.operation !== operation || JSON.stringify(first.request) !== JSON.stringify(request)) {
    return {
      outcome: 'failed',
      code: 'idempotency_mismatch',
      message: `idempotency key ${key} was first used for a different ${first.operation}`,
    };
  }
  return first.outcome;
}

interface Opening {
  key: string;
  operation: 'authorise' | 'charge';
  /** JSON, as stored. */
  request: string;
  outcome: string;
  ref: string;
  kind: 'hold' | 'charge';
  token: string;
  amountMinor: number;
  capturedMinor: number;
  /** Whether the answer moves money (a decline is remembered, but opens no payment). */
  pay: boolean;
}

const declined = (code: string, message: string): ProviderOutcome => ({ outcome: 'declined', code, message });

/**
 * A provider that behaves like a real one in test mode: idempotency keys replay their first
 * answer, a key reused for a different request is refused, amounts are checked against what is
 * held or captured, and its books survive a crash of the cloud (see 0002_sandbox_provider.up.sql).
 */
export function createSandboxProvider(db: Db, opts: SandboxOptions = {}): PaymentProvider {
  const hangMs = opts.hangMs ?? 60_000;

  function hang(): Promise<ProviderOutcome> {
    return new Promise((resolve) =>
      setTimeout(
        () =>
          resolve({
            outcome: 'failed',
            code: 'timeout',
            message: 'the sandbox card 4000000000006975 never answers in time',
          }),
        hangMs,
      ).unref(),
    );
  }

  async function once(
    key: string,
    operation: string,
    request: Record<string, unknown>,
    act: (tx: Tx) => Promise<ProviderOutcome>,
  ): Promise<ProviderOutcome> {
    return inTransaction(db, async (tx) => {
      await tx.query('select pg_advisory_xact_lock(hashtext($1))', [key]);
      const first = await firstAnswer(tx, key, operation, request);
      if (first) return first;
      const outcome = await act(tx);
      // A provider error is not remembered: retrying the key is how the caller recovers from it.
      if (outcome.outcome !== 'failed') {
        await tx.query(
          'insert into sandbox_operations (idempotency_key, operation, request, outcome) values ($1, $2, $3, $4)',
          [key, operation, request, outcome],
        );
      }
      return outcome;
    });
  }

  async function payment(tx: Tx, ref: string): Promise<Row | undefined> {
    const { rows } = await tx.query<Row>('select * from sandbox_payments where ref = $1 for update', [ref]);
    return rows[0];
  }

  function refuseCard(behaviour: SandboxBehaviour | null, kind: 'hold' | 'charge'): ProviderOutcome | null {
    if (behaviour === null) return declined('invalid_token', 'not a sandbox payment token');
    if (behaviour === 'declines') return declined('card_declined', 'the card was declined');
    if (behaviour === 'insufficient_funds')
      return declined('insufficient_funds', 'the card has insufficient funds');
    if (behaviour === 'fails')
      return { outcome: 'failed', code: 'processing_error', message: 'the sandbox failed' };
    if (behaviour === 'capture_declines' && kind === 'charge')
      return declined('card_declined', 'charge declined');
    return null;
  }

  /**
   * Opening a hold or a charge is one statement, shared by the openings asked for at the same
   * moment: each key's first use is claimed and its payment written with it, so a repeated or
   * concurrent key finds the first answer instead of moving money twice. (Captures, releases and
   * refunds read a payment first, and lock the key for that.)
   */
  const opening = batcher(
    async (ops: Opening[]): Promise<boolean[]> => {
      // A key twice in one batch: the first is tried, the second finds its answer afterwards.
      const first = new Map<string, number>();
      for (const [i, o] of ops.entries()) if (!first.has(o.key)) first.set(o.key, i);
      const sent = [...first.values()].map((i) => ops[i]!);
      const col = <K extends keyof Opening>(k: K) => sent.map((o) => o[k]);
      const { rows } = await db.query<{ key: string }>({
        name: 'sandbox.open',
        text: `with u as (
            select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                 $7::text[], $8::bigint[], $9::bigint[], $10::bool[])
              as u(key, operation, request, outcome, ref, kind, token, amount, captured, pay)),
          op as (
            insert into sandbox_operations (idempotency_key, operation, request, outcome)
            select key, operation, request::jsonb, outcome::jsonb from u
            on conflict (idempotency_key) do nothing returning idempotency_key),
          p as (
            insert into sandbox_payments (ref, kind, token, amount_minor, captured_minor)
            select u.ref, u.kind, u.token, u.amount, u.captured from u join op on op.idempotency_key = u.key
            where u.pay)
          select idempotency_key as key from op`,
        values: [
          col('key'),
          col('operation'),
          col('request'),
          col('outcome'),
          col('ref'),
          col('kind'),
          col('token'),
          col('amountMinor'),
          col('capturedMinor'),
          col('pay'),
        ],
      });
      const fresh = new Set(rows.map((r) => r.key));
      return ops.map((o, i) => first.get(o.key) === i && fresh.has(o.key));
    },
    { maxItems: 64, maxInFlight: 3 },
  );

  async function open(
    key: string,
    operation: 'authorise' | 'charge',
    kind: 'hold' | 'charge',
    r: { token: string; amountMinor: number },
  ): Promise<ProviderOutcome> {
    const behaviour = behaviourOf(r.token);
    if (behaviour === 'times_out') return hang();
    const request = { token: r.token, amount: r.amountMinor };
    const ref = `sbx_${kind === 'hold' ? 'pi' : 'ch'}_${randomUUID()}`;
    const outcome: ProviderOutcome = refuseCard(behaviour, kind) ?? {
      outcome: 'succeeded',
      ref,
      amountMinor: r.amountMinor,
    };
    if (outcome.outcome !== 'failed') {
      const fresh = await opening({
        key,
        operation,
        request: JSON.stringify(request),
        outcome: JSON.stringify(outcome),
        ref,
        kind,
        token: r.token,
        amountMinor: r.amountMinor,
        capturedMinor: kind === 'charge' ? r.amountMinor : 0,
        pay: outcome.outcome === 'succeeded',
      });
      if (fresh) return outcome;
    }
    return (await firstAnswer(db, key, operation, request)) ?? outcome;
  }

  const behaviourOf = (token: string) => parseSandboxToken(token)?.behaviour ?? null;

  return {
    name: 'sandbox',
    authorise: (r) => open(r.idempotencyKey, 'authorise', 'hold', r),
    charge: (r) => open(r.idempotencyKey, 'charge', 'charge', r),
    capture: (r) =>
      once(r.idempotencyKey, 'capture', { ref: r.holdRef, amount: r.amountMinor }, async (tx) => {
        const p = await payment(tx, r.holdRef);
        if (p?.kind !== 'hold') return declined('no_such_hold', `no hold ${r.holdRef}`);
        if (p.released || p.captured_minor > 0)
          return declined('hold_closed', `hold ${r.holdRef} is already closed`);
        if (r.amountMinor > p.amount_minor) return declined('amount_too_large', 'capture exceeds the hold');
        if (behaviourOf(p.token) === 'capture_declines') return declined('card_declined', 'capture declined');
        await tx.query('update sandbox_payments set captured_minor = $2 where ref = $1', [
          p.ref,
          r.amountMinor,
        ]);
        return { outcome: 'succeeded', ref: p.ref, amountMinor: r.amountMinor };
      }),
    release: (r) =>
      once(r.idempotencyKey, 'release', { ref: r.holdRef }, async (tx) => {
        const p = await payment(tx, r.holdRef);
        if (p?.kind !== 'hold') return declined('no_such_hold', `no hold ${r.holdRef}`);
        if (p.captured_minor > 0) return declined('hold_closed', `hold ${r.holdRef} was captured`);
        await tx.query('update sandbox_payments set released = true where ref = $1', [p.ref]);
        return { outcome: 'succeeded', ref: p.ref, amountMinor: 0 };
      }),
    refund: (r) =>
      once(r.idempotencyKey, 'refund', { ref: r.paymentRef, amount: r.amountMinor }, async (tx) => {
        const p = await payment(tx, r.paymentRef);
        if (!p) return declined('no_such_payment', `no payment ${r.paymentRef}`);
        if (p.refunded_minor + r.amountMinor > p.captured_minor) {
          return declined('amount_too_large', 'refund exceeds what was captured');
        }
        await tx.query('update sandbox_payments set refunded_minor = refunded_minor + $2 where ref = $1', [
          p.ref,
          r.amountMinor,
        ]);
        return {
          outcome: 'succeeded',
          ref: `${p.ref}_re_${randomUUID().slice(0, 8)}`,
          amountMinor: r.amountMinor,
        };
      }),
    status: async (ref): Promise<PaymentStatus> => {
      const { rows } = await db.query<Row>('select * from sandbox_payments where ref = $1', [ref]);
      const p = rows[0];
      if (!p) return 'unknown';
      if (p.refunded_minor > 0)
        return p.refunded_minor >= p.captured_minor ? 'refunded' : 'partially_refunded';
      if (p.captured_minor > 0) return 'captured';
      return p.released ? 'released' : 'held';
    },
    describe: async (token) => {
      const parsed = parseSandboxToken(token);
      return parsed ? { token, brand: 'visa', last4: parsed.last4 } : null;
    },
  };
}
