import { type KeyObject, randomUUID } from 'node:crypto';
import type { Logger } from '../../platform/log.ts';
import { type Db, inTransaction, type Tx } from '../db/pool.ts';
import type { PaymentProvider, ProviderOutcome } from '../payments/provider.ts';
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
 * One gate scan to one answer. Admission runs around the provider call, so a slow provider never
 * holds a lock: one statement claims the code's nonce and creates the visit (`entering`, hold
 * `pending`), the provider is asked, and one statement records its answer with the decision. A
 * crash between them leaves an `entering` visit that recoverEntering() settles. Five statements
 * an open gate, none of them a transaction of several (a store with a capacity adds one).
 */
export async function decideScan(deps: GateDeps, scan: GateScan): Promise<GateDecision> {
  const started = performance.now();
  const check = await checkEntryCode(scan.qr, deps.entryKeys, deps.now().getTime(), deps.skewS);
  let result: GateDecision;
  let shopperId: string | null = null;
  let held: { visitId: string; outcome: ProviderOutcome } | null = null;
  if (!check.ok) {
    result = deny(check.reason, check.detail);
  } else {
    shopperId = check.claims.sub;
    const admitted = await admit(deps, scan, check.claims.sub, check.claims.nonce, check.claims.companions);
    if ('reason' in admitted) {
      result = deny(admitted.reason);
    } else {
      const outcome = await deps.provider.authorise({
        idempotencyKey: `hold:${admitted.visitId}`,
        token: admitted.token,
        amountMinor: deps.holdAmountMinor,
        currency: deps.currency,
        description: `Walkout visit ${admitted.visitId}`,
      });
      held = { visitId: admitted.visitId, outcome };
      result = holdDecision(admitted, outcome);
    }
  }
  const latencyMs = performance.now() - started;
  deps.observe?.(result.decision, result.decision === 'deny' ? result.reason : '', latencyMs / 1000);
  await record(deps, scan, result, shopperId, latencyMs, held);
  deps.log.debug('gate decision', {
    storeId: scan.storeId,
    gateId: scan.gateId,
    decision: result.decision,
    ...(result.decision === 'deny' ? { reason: result.reason } : { visitId: result.visitId }),
    latencyMs: Math.round(latencyMs * 10) / 10,
  });
  return result;
}

interface Facts {
  store_known: boolean;
  is_open: boolean;
  capacity: number | null;
  inside: number;
  replayed: boolean;
  known: boolean;
  token: string | null;
  method_id: string | null;
  unpaid: number;
}

/**
 * One statement reads everything precheckEntry() needs and, when every fact passes, claims the
 * code's nonce and creates the visit (`entering`), its members and its `pending` hold, all
 * hanging off the claim: a concurrent scan of the same code that claimed it first leaves it
 * nothing to insert. The conjunction below is precheckEntry()'s rules all passing; which rule
 * failed is still decided there, from the facts returned. People inside are counted only under
 * the store's lock ($4).
 * ($1 shopper, $2 nonce, $3 store, $4 count inside, $5 now, $6 gate, $7 companions, $8 hold
 * amount, $9 currency, $10 provider, $11 the new visit's id.)
 */
const ADMIT_SQL = `with f as (
    select st.id is not null as store_known, coalesce(st.is_open, false) as is_open, st.capacity,
      case when $4 then (select count(*)::int from visit_members m join visits v on v.id = m.visit_id
        where v.store_id = $3 and v.status in ('entering', 'open') and m.exited_at is null) else 0 end as inside,
      exists (select 1 from entry_redemptions where nonce = $2) as replayed, s.id is not null as known,
      m.provider_token as token, m.id as method_id,
      (select coalesce(sum(amount_minor - credited_minor), 0)::bigint from balances_due
       where shopper_id = $1 and paid_at is null) as unpaid
    from (select 1) one left join stores st on st.id = $3 left join shoppers s on s.id = $1
    left join lateral (
      select id, provider_token from payment_methods where shopper_id = s.id and removed_at is null
      order by created_at desc limit 1) m on true),
  ok as (
    select method_id from f
    where store_known and is_open and not replayed and known and token is not null and unpaid = 0
      and (capacity is null or ($4 and inside + 1 + $7 <= capacity))),
  r as (
    insert into entry_redemptions (nonce, shopper_id, visit_id, gate_id, redeemed_at)
    select $2, $1, $11, $6, $5 from ok on conflict (nonce) do nothing returning visit_id),
  v as (
    insert into visits (id, store_id, payer_id, payment_method_id, status, companions, opened_at)
    select r.visit_id, $3, $1, (select method_id from ok), 'entering', $7, $5 from r returning id),
  m as (
    insert into visit_members (visit_id, member_no, role)
    select v.id, n, case when n = 0 then 'payer' else 'companion' end from v, generate_series(0, $7::int) n),
  p as (
    insert into payments (idempotency_key, visit_id, shopper_id, kind, amount_minor, currency, provider, status)
    select 'hold:' || v.id, v.id, $1, 'hold', $8, $9, $10, 'pending' from v)
  select f.*, (select count(*)::int from v) as claimed from f`;

/**
 * Claims the nonce and creates the visit, or says why not. Only a capacity needs admissions in
 * order: then the store's row is locked (two gates cannot both let in the last place) and the
 * statement runs again under the lock, counting who is inside. Without one, admissions run side
 * by side in one statement each, which is what lets one store take many scans a second.
 */
async function admit(
  deps: GateDeps,
  scan: GateScan,
  shopperId: string,
  nonce: string,
  companions: number,
): Promise<Admitted | { reason: DenyReason }> {
  const visitId = randomUUID();
  const run = async (q: Db | Tx, countInside: boolean) => {
    const { rows } = await q.query<Facts & { claimed: number }>({
      name: 'gate.admit',
      text: ADMIT_SQL,
      values: [
        shopperId,
        nonce,
        scan.storeId,
        countInside,
        deps.now(),
        scan.gateId,
        companions,
        deps.holdAmountMinor,
        deps.currency,
        deps.provider.name,
        visitId,
      ],
    });
    const f = rows[0]!;
    const party = 1 + companions;
    if (f.claimed > 0) return { visitId, shopperId, token: f.token!, party };
    const pre = precheckEntry({
      code: { ok: true },
      replayed: f.replayed,
      store: f.store_known ? { isOpen: f.is_open, capacity: f.capacity, inside: f.inside } : null,
      party,
      shopper: f.known ? { hasPaymentMethod: f.token !== null, unpaidMinor: f.unpaid } : null,
    });
    if (!pre.open) return { reason: pre.reason };
    if (f.capacity !== null && !countInside) return 'count inside' as const;
    // Every rule passed but nothing was claimed: the same code's other scan claimed it first.
    return { reason: 'replayed' as const };
  };
  const first = await run(deps.db, false);
  if (first !== 'count inside') return first;
  return inTransaction(deps.db, async (tx) => {
    await tx.query('select 1 from stores where id = $1 for update', [scan.storeId]);
    const locked = await run(tx, true);
    if (locked === 'count inside') throw new Error('gate: capacity check under the lock did not count');
    return locked;
  });
}

function holdDecision(a: Admitted, outcome: ProviderOutcome): GateDecision {
  if (outcome.outcome === 'succeeded') {
    return { decision: 'open', visitId: a.visitId, party: a.party, message: 'Welcome in.' };
  }
  return deny(outcome.outcome === 'declined' ? 'payment_declined' : 'payment_unavailable', outcome.message);
}

/**
 * The decision's row, and with it (one statement, so they change together without a transaction)
 * the hold's answer and the visit's state: open, or cancelled when the hold failed.
 */
async function record(
  deps: GateDeps,
  scan: GateScan,
  result: GateDecision,
  shopperId: string | null,
  latencyMs: number,
  held: { visitId: string; outcome: ProviderOutcome } | null,
): Promise<void> {
  const ok = held?.outcome.outcome === 'succeeded';
  const o = held?.outcome;
  await deps.db.query({
    name: 'gate.record',
    text: `with p as (
       update payments set status = $10, provider_ref = $11, failure = $12, updated_at = now()
       where $9::uuid is not null and idempotency_key = 'hold:' || $9 returning 1),
     v as (
       update visits set status = $13 where $9::uuid is not null and id = $9 and status = 'entering' returning 1)
     insert into gate_decisions (time, store_id, gate_id, decision, reason, shopper_id, visit_id, latency_ms)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    values: [
      deps.now(),
      scan.storeId,
      scan.gateId,
      result.decision,
      result.decision === 'deny' ? result.reason : null,
      shopperId,
      result.decision === 'open' ? result.visitId : null,
      latencyMs,
      held?.visitId ?? null,
      o ? (ok ? 'succeeded' : o.outcome) : null,
      o?.outcome === 'succeeded' ? o.ref : null,
      o && o.outcome !== 'succeeded' ? `${o.code}: ${o.message}` : null,
      ok ? 'open' : 'cancelled',
    ],
  });
}
