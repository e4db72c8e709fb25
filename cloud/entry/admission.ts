import type { Db, Tx } from '../db/pool.ts';

/**
 * The gate's two writes, each one statement for any number of scans, so that scans arriving
 * together share a round trip and a commit (see db/batch.ts): the admission, which the answer
 * waits for, and the record of the decisions and their holds' answers, which it does not.
 */

export interface AdmitRequest {
  shopperId: string;
  nonce: string;
  storeId: string;
  gateId: string;
  companions: number;
  /** The visit's id if it is admitted, chosen by the caller. */
  visitId: string;
  at: Date;
}

/** What precheckEntry() needs, and whether the visit was created. */
export interface AdmitRow {
  store_known: boolean;
  is_open: boolean;
  capacity: number | null;
  inside: number;
  replayed: boolean;
  known: boolean;
  token: string | null;
  method_id: string | null;
  unpaid: number;
  claimed: boolean;
}

export interface HoldTerms {
  amountMinor: number;
  currency: string;
  provider: string;
}

/**
 * Reads each scan's facts and, for each whose every fact passes, claims the code's nonce and
 * creates the visit (`open`), its members and its `pending` hold, all hanging off the claim: a
 * scan of the same code that claimed it first (before, or earlier in the same batch) leaves
 * nothing to insert. The conjunction in `ok` is precheckEntry()'s rules all passing; which rule
 * failed is decided there, from the facts returned. People inside are counted only when asked,
 * under the store's lock; without a count, a store with a capacity admits nobody here.
 */
const ADMIT_SQL = `with q as (
    select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::uuid[], $7::timestamptz[])
      with ordinality as q(shopper, nonce, store, gate, companions, visit_id, at, ord)),
  f as (
    select q.*, st.id is not null as store_known, coalesce(st.is_open, false) as is_open, st.capacity,
      case when $8 then (select count(*)::int from visit_members vm join visits vv on vv.id = vm.visit_id
        where vv.store_id = q.store and vv.status = 'open' and vm.exited_at is null) else 0 end as inside,
      exists (select 1 from entry_redemptions e where e.nonce = q.nonce) as replayed, s.id is not null as known,
      pm.provider_token as token, pm.id as method_id,
      (select coalesce(sum(b.amount_minor - b.credited_minor), 0)::bigint from balances_due b
       where b.shopper_id = q.shopper and b.paid_at is null) as unpaid
    from q left join stores st on st.id = q.store left join shoppers s on s.id = q.shopper
    left join lateral (select id, provider_token from current_payment_methods where shopper_id = s.id) pm on true),
  ok as (
    select * from f
    where store_known and is_open and not replayed and known and token is not null and unpaid = 0
      and (capacity is null or ($8 and inside + 1 + companions <= capacity))),
  r as (
    insert into entry_redemptions (nonce, shopper_id, visit_id, gate_id, redeemed_at)
    select nonce, shopper, visit_id, gate, at from ok order by ord on conflict (nonce) do nothing returning visit_id),
  v as (
    insert into visits (id, store_id, payer_id, payment_method_id, status, companions, opened_at)
    select ok.visit_id, ok.store, ok.shopper, ok.method_id, 'open', ok.companions, ok.at
    from ok join r on r.visit_id = ok.visit_id returning id),
  m as (
    insert into visit_members (visit_id, member_no, role)
    select v.id, n, case when n = 0 then 'payer' else 'companion' end
    from v join ok on ok.visit_id = v.id cross join lateral generate_series(0, ok.companions) n),
  p as (
    insert into payments (idempotency_key, visit_id, shopper_id, kind, amount_minor, currency, provider, status)
    select 'hold:' || v.id, v.id, ok.shopper, 'hold', $9, $10, $11, 'pending' from v join ok on ok.visit_id = v.id)
  select f.store_known, f.is_open, f.capacity, f.inside, f.replayed, f.known, f.token, f.method_id, f.unpaid,
    exists (select 1 from v where v.id = f.visit_id) as claimed
  from f order by f.ord`;

export async function admitScans(
  q: Db | Tx,
  scans: readonly AdmitRequest[],
  hold: HoldTerms,
  countInside: boolean,
): Promise<AdmitRow[]> {
  const { rows } = await q.query<AdmitRow>({
    name: 'gate.admit',
    text: ADMIT_SQL,
    values: [
      ...columns(scans, ['shopperId', 'nonce', 'storeId', 'gateId', 'companions', 'visitId', 'at']),
      countInside,
      hold.amountMinor,
      hold.currency,
      hold.provider,
    ],
  });
  return rows;
}

/** A gate's decision as logged in `gate_decisions`. */
export interface DecisionRow {
  at: Date;
  storeId: string;
  gateId: string;
  decision: 'open' | 'deny';
  reason: string | null;
  shopperId: string | null;
  /** The visit the gate opened for. */
  visitId: string | null;
  /** From the scan's arrival to its answer; null when a restart wrote the row (recover.ts). */
  latencyMs: number | null;
}

/** The provider's answer to a visit's hold. */
export interface HoldAnswer {
  visitId: string;
  status: 'succeeded' | 'declined' | 'failed';
  ref: string | null;
  failure: string | null;
}

/** What one scan leaves to write after its answer: its decision's row, its hold's answer, or both. */
export interface GateRecord {
  decision: DecisionRow | null;
  hold: HoldAnswer | null;
}

/**
 * The decisions' rows and the holds' answers, one statement for any number of them. An answer
 * already final (succeeded or declined, written by settlement or a restart that asked the
 * provider under the same key) is not overwritten: it is the same answer.
 */
export async function recordGate(db: Db | Tx, records: readonly GateRecord[]): Promise<void> {
  const decisions = records.flatMap((r) => (r.decision ? [r.decision] : []));
  const held = records.flatMap((r) => (r.hold ? [r.hold] : []));
  await db.query({
    name: 'gate.record',
    text: `with h as (
        select * from unnest($9::uuid[], $10::text[], $11::text[], $12::text[]) as h(visit_id, status, ref, failure)),
      p as (
        update payments set status = h.status, provider_ref = h.ref, failure = h.failure, updated_at = now()
        from h where payments.idempotency_key = 'hold:' || h.visit_id::text
          and payments.status in ('pending', 'failed') returning 1)
      insert into gate_decisions (time, store_id, gate_id, decision, reason, shopper_id, visit_id, latency_ms)
      select * from unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                           $7::uuid[], $8::real[])`,
    values: [
      ...columns(decisions, [
        'at',
        'storeId',
        'gateId',
        'decision',
        'reason',
        'shopperId',
        'visitId',
        'latencyMs',
      ]),
      ...columns(held, ['visitId', 'status', 'ref', 'failure']),
    ],
  });
}

/** One array per key, in the order given: the columns that `unnest` turns back into rows. */
function columns<T>(rows: readonly T[], keys: readonly (keyof T)[]): unknown[][] {
  return keys.map((k) => rows.map((r) => r[k]));
}
