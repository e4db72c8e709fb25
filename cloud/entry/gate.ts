import type { KeyObject } from 'node:crypto';
import type { Logger } from '../../platform/log.ts';
import { type Db, inTransaction, type Tx } from '../db/pool.ts';
import type { PaymentProvider } from '../payments/provider.ts';
import { checkEntryCode } from './codes.ts';
import { DENY_MESSAGES, type DenyReason, precheckEntry } from './decide.ts';

export interface GateDeps {
  db: Db;
  provider: PaymentProvider;
  entryKeys: ReadonlyMap<string, KeyObject>;
  now: () => Date;
  log: Logger;
  holdAmountMinor: number;
  currency: string;
  skewS: number;
  /** Every decision's latency, whichever surface (HTTP or the edge link) the scan came by. */
  observe?: (decision: 'open' | 'deny', reason: DenyReason | '', seconds: number) => void;
}

export interface GateScan {
  storeId: string;
  gateId: string;
  qr: string;
}

export type GateDecision =
  | { decision: 'open'; visitId: string; party: number; message: string }
  | { decision: 'deny'; reason: DenyReason; message: string; detail?: string };

const deny = (reason: DenyReason, detail?: string): GateDecision => ({
  decision: 'deny',
  reason,
  message: DENY_MESSAGES[reason],
  ...(detail ? { detail } : {}),
});

interface Admitted {
  visitId: string;
  shopperId: string;
  token: string;
  party: number;
}

/**
 * One gate scan to one answer. Admission is two short transactions around the provider call, so a
 * slow provider never holds the store's lock: the first claims the code's nonce and counts the
 * party against capacity (visit `entering`, hold `pending`), the second records what the provider
 * said. A crash between them leaves an `entering` visit that recoverEntering() settles.
 */
export async function decideScan(deps: GateDeps, scan: GateScan): Promise<GateDecision> {
  const started = performance.now();
  const check = await checkEntryCode(scan.qr, deps.entryKeys, deps.now().getTime(), deps.skewS);
  let result: GateDecision;
  let shopperId: string | null = null;
  if (!check.ok) {
    result = deny(check.reason, check.detail);
  } else {
    shopperId = check.claims.sub;
    const admitted = await inTransaction(deps.db, (tx) =>
      admit(tx, deps, scan, check.claims.sub, check.claims.nonce, check.claims.companions),
    ).catch((err: unknown) => {
      if (err instanceof ReplayRace) return { reason: 'replayed' as const };
      throw err;
    });
    result = 'reason' in admitted ? deny(admitted.reason) : await hold(deps, admitted);
  }
  const latencyMs = performance.now() - started;
  deps.observe?.(result.decision, result.decision === 'deny' ? result.reason : '', latencyMs / 1000);
  await deps.db.query(
    `insert into gate_decisions (time, store_id, gate_id, decision, reason, shopper_id, visit_id, latency_ms)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      deps.now(),
      scan.storeId,
      scan.gateId,
      result.decision,
      result.decision === 'deny' ? result.reason : null,
      shopperId,
      result.decision === 'open' ? result.visitId : null,
      latencyMs,
    ],
  );
  deps.log.debug('gate decision', {
    storeId: scan.storeId,
    gateId: scan.gateId,
    decision: result.decision,
    ...(result.decision === 'deny' ? { reason: result.reason } : { visitId: result.visitId }),
    latencyMs: Math.round(latencyMs * 10) / 10,
  });
  return result;
}

async function admit(
  tx: Tx,
  deps: GateDeps,
  scan: GateScan,
  shopperId: string,
  nonce: string,
  companions: number,
): Promise<Admitted | { reason: DenyReason }> {
  const store = await storeFacts(tx, scan.storeId);
  const facts = await tx.query<{
    replayed: boolean;
    known: boolean;
    token: string | null;
    method_id: string | null;
    unpaid: number;
  }>(
    `select exists (select 1 from entry_redemptions where nonce = $2) as replayed, s.id is not null as known,
       m.provider_token as token, m.id as method_id,
       (select coalesce(sum(amount_minor), 0)::bigint from balances_due where shopper_id = $1 and paid_at is null)
         as unpaid
     from (select 1) one left join shoppers s on s.id = $1
     left join lateral (
       select id, provider_token from payment_methods where shopper_id = s.id and removed_at is null
       order by created_at desc limit 1) m on true`,
    [shopperId, nonce],
  );
  const f = facts.rows[0]!;
  const sh = f.known ? f : undefined;
  const party = 1 + companions;
  const pre = precheckEntry({
    code: { ok: true },
    replayed: f.replayed,
    store,
    party,
    shopper: sh ? { hasPaymentMethod: sh.token !== null, unpaidMinor: sh.unpaid } : null,
  });
  if (!pre.open) return { reason: pre.reason };
  const now = deps.now();
  // One statement for the visit, its members, the code's claim and the pending hold: a
  // concurrent scan of the same code may have claimed the nonce since the check above, and then
  // nothing of this is kept.
  const admitted = await tx.query<{ visit_id: string; claimed: number }>(
    `with v as (
       insert into visits (store_id, payer_id, payment_method_id, status, companions, opened_at)
       values ($1, $2, $3, 'entering', $4, $5) returning id),
     m as (
       insert into visit_members (visit_id, member_no, role)
       select v.id, n, case when n = 0 then 'payer' else 'companion' end from v, generate_series(0, $4::int) n),
     r as (
       insert into entry_redemptions (nonce, shopper_id, visit_id, gate_id, redeemed_at)
       select $6, $2, v.id, $7, $5 from v on conflict (nonce) do nothing returning nonce),
     p as (
       insert into payments (idempotency_key, visit_id, shopper_id, kind, amount_minor, currency, provider, status)
       select 'hold:' || v.id, v.id, $2, 'hold', $8, $9, $10, 'pending' from v)
     select v.id as visit_id, (select count(*)::int from r) as claimed from v`,
    [
      scan.storeId,
      shopperId,
      sh!.method_id,
      companions,
      now,
      nonce,
      scan.gateId,
      deps.holdAmountMinor,
      deps.currency,
      deps.provider.name,
    ],
  );
  const row = admitted.rows[0]!;
  if (row.claimed === 0) throw new ReplayRace();
  const visitId = row.visit_id;
  return { visitId, shopperId, token: sh!.token!, party };
}

/**
 * Whether the store admits, and how many are inside. Only a capacity needs admissions in order:
 * then the store's row is locked (two gates cannot both let in the last place) and the people
 * inside counted. Without one, admissions run side by side, which is what lets one store take a
 * thousand scans a second.
 */
async function storeFacts(
  tx: Tx,
  storeId: string,
): Promise<{ isOpen: boolean; capacity: number | null; inside: number } | null> {
  const read = (lock: boolean) =>
    tx.query<{ is_open: boolean; capacity: number | null }>(
      `select is_open, capacity from stores where id = $1${lock ? ' for update' : ''}`,
      [storeId],
    );
  let row = (await read(false)).rows[0];
  if (!row) return null;
  if (row.capacity === null) return { isOpen: row.is_open, capacity: null, inside: 0 };
  row = (await read(true)).rows[0]!;
  const inside = await tx.query<{ n: number }>(
    `select count(*)::int as n from visit_members m join visits v on v.id = m.visit_id
     where v.store_id = $1 and v.status in ('entering', 'open') and m.exited_at is null`,
    [storeId],
  );
  return { isOpen: row.is_open, capacity: row.capacity, inside: inside.rows[0]!.n };
}

/** The same code scanned at two stores at once: the loser's transaction is rolled back. */
class ReplayRace extends Error {}

async function hold(deps: GateDeps, a: Admitted): Promise<GateDecision> {
  const outcome = await deps.provider.authorise({
    idempotencyKey: `hold:${a.visitId}`,
    token: a.token,
    amountMinor: deps.holdAmountMinor,
    currency: deps.currency,
    description: `Walkout visit ${a.visitId}`,
  });
  await recordHold(deps.db, a.visitId, outcome);
  if (outcome.outcome === 'succeeded') {
    return { decision: 'open', visitId: a.visitId, party: a.party, message: 'Welcome in.' };
  }
  return deny(outcome.outcome === 'declined' ? 'payment_declined' : 'payment_unavailable', outcome.message);
}

async function recordHold(
  db: Db,
  visitId: string,
  outcome: Awaited<ReturnType<PaymentProvider['authorise']>>,
): Promise<void> {
  const ok = outcome.outcome === 'succeeded';
  // One statement, so the hold's answer and the visit's state change together without a transaction.
  await db.query(
    `with p as (
       update payments set status = $2, provider_ref = $3, failure = $4, updated_at = now()
       where idempotency_key = $1 returning 1)
     update visits set status = $6 where id = $5 and status = 'entering'`,
    [
      `hold:${visitId}`,
      ok ? 'succeeded' : outcome.outcome,
      ok ? outcome.ref : null,
      ok ? null : `${outcome.code}: ${outcome.message}`,
      visitId,
      ok ? 'open' : 'cancelled',
    ],
  );
}
