import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../db/pool.ts';
import { inTransaction } from '../db/pool.ts';
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

const declined = (code: string, message: string): ProviderOutcome => ({ outcome: 'declined', code, message });

/**
 * A provider that behaves like a real one in test mode: idempotency keys replay their first
 * answer, a key reused for a different request is refused, amounts are checked against what is
 * held or captured, and its books survive a crash of the cloud (see 0002_sandbox_provider.up.sql).
 */
export function createSandboxProvider(db: Db, opts: SandboxOptions = {}): PaymentProvider {
  const hangMs = opts.hangMs ?? 60_000;

  async function once(
    key: string,
    operation: string,
    request: Record<string, unknown>,
    behaviour: SandboxBehaviour | null,
    act: (tx: Tx) => Promise<ProviderOutcome>,
  ): Promise<ProviderOutcome> {
    if (behaviour === 'times_out') {
      await new Promise((r) => setTimeout(r, hangMs).unref());
      return {
        outcome: 'failed',
        code: 'timeout',
        message: 'the sandbox card 4000000000006975 never answers in time',
      };
    }
    return inTransaction(db, async (tx) => {
      await tx.query('select pg_advisory_xact_lock(hashtext($1))', [key]);
      const seen = await tx.query<{ operation: string; request: unknown; outcome: ProviderOutcome }>(
        'select operation, request, outcome from sandbox_operations where idempotency_key = $1',
        [key],
      );
      const first = seen.rows[0];
      if (first) {
        if (first.operation !== operation || JSON.stringify(first.request) !== JSON.stringify(request)) {
          return {
            outcome: 'failed',
            code: 'idempotency_mismatch',
            message: `idempotency key ${key} was first used for a different ${first.operation}`,
          };
        }
        return first.outcome;
      }
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

  async function open(
    tx: Tx,
    kind: 'hold' | 'charge',
    token: string,
    amountMinor: number,
  ): Promise<ProviderOutcome> {
    const refusal = refuseCard(parseSandboxToken(token)?.behaviour ?? null, kind);
    if (refusal) return refusal;
    const ref = `sbx_${kind === 'hold' ? 'pi' : 'ch'}_${randomUUID()}`;
    await tx.query(
      `insert into sandbox_payments (ref, kind, token, amount_minor, captured_minor)
       values ($1, $2, $3, $4, $5)`,
      [ref, kind, token, amountMinor, kind === 'charge' ? amountMinor : 0],
    );
    return { outcome: 'succeeded', ref, amountMinor };
  }

  const behaviourOf = (token: string) => parseSandboxToken(token)?.behaviour ?? null;
  const opening =
    (operation: 'authorise' | 'charge', kind: 'hold' | 'charge') =>
    (r: { idempotencyKey: string; token: string; amountMinor: number }) =>
      once(
        r.idempotencyKey,
        operation,
        { token: r.token, amount: r.amountMinor },
        behaviourOf(r.token),
        (tx) => open(tx, kind, r.token, r.amountMinor),
      );

  return {
    name: 'sandbox',
    authorise: opening('authorise', 'hold'),
    charge: opening('charge', 'charge'),
    capture: (r) =>
      once(r.idempotencyKey, 'capture', { ref: r.holdRef, amount: r.amountMinor }, null, async (tx) => {
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
      once(r.idempotencyKey, 'release', { ref: r.holdRef }, null, async (tx) => {
        const p = await payment(tx, r.holdRef);
        if (p?.kind !== 'hold') return declined('no_such_hold', `no hold ${r.holdRef}`);
        if (p.captured_minor > 0) return declined('hold_closed', `hold ${r.holdRef} was captured`);
        await tx.query('update sandbox_payments set released = true where ref = $1', [p.ref]);
        return { outcome: 'succeeded', ref: p.ref, amountMinor: 0 };
      }),
    refund: (r) =>
      once(r.idempotencyKey, 'refund', { ref: r.paymentRef, amount: r.amountMinor }, null, async (tx) => {
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
