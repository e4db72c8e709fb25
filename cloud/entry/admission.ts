import type { Db, Tx } from '../db/pool.ts';
import { unreported } from '../db/reports.ts';

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
  /**
   * The code is within its life. An expired one is looked up only for a gate asking again about
   * a code it was answered for (the retry window, gate.ts): it can never claim anything.
   */
  fresh: boolean;
}

/** What precheckEntry() needs, and whether the visit was created. */
export interface AdmitRow {
  store_known: boolean;
  is_open: boolean;
  capacity: number | null;
  inside: number;
  replayed: boolean;
  known: boolean;
  /** The shopper has an open visit already (in any store). */
  inside_already: boolean;
  token: string | null;
  method_id: string | null;
  unpaid: number;
  claimed: boolean;
  /** Where the code's nonce was redeemed, when it was: what a gate asking again is answered. */
  prior_visit: string | null;
  prior_gate: string | null;
  prior_store: string | null;
  prior_status: string | null;
  prior_party: number | null;
  /**
   * The shopper's open gate visit in this store that nothing has been reported on (no member
   * entered or left, no cart event): what a lost answer leaves. A new code opens onto it.
   */
  resume_visit: string | null;
  resume_party: number | null;
  /** This scan's code was claimed for resume_visit, and its decision's row written. */
  resumed: boolean;
}

export interface HoldTerms {
  amountMinor: number;
  currency: string;
  provider: string;
}

/**
 * Reads each scan's facts and, for each whose every fact passes, creates the visit (`open`),
 * claims the code's nonce, and writes its members, its `pending` hold and the decision's row, all
 * hanging off the visit. The visit's insert is what decides between scans racing: the unique
 * index `visits_one_open` (one open gate visit per shopper) lets one of them in, whether they
 * carry the same code (then the code's other scan) or two codes of one shopper; within one batch
 * a shopper's first scan is the one tried. The conjunction in `ok` is precheckEntry()'s rules all
 * passing; which rule failed is decided there, from the facts returned. People inside are
 * counted only when asked, under the store's lock; without a count, a store with a capacity
 * admits nobody here. The decision's row is written here, not after the answer: a crash after
 * the commit cannot leave an admitted visit without it (its latency is added afterwards).
 *
 * A valid code of a shopper whose open gate visit in the same store has had no report at all (the
 * test expire.ts uses) resumes that visit instead: its nonce is claimed for it and a row with
 * reason 'resumed' written, nothing else. The visit's row is locked (`for share`) first, so the
 * claim waits for an expiry or a close holding it and then sees whether it is still open; the
 * nonce's primary key decides between two scans of one code. It needs no count of who is inside:
 * its party counts already.
 *
 * The `limit 1` on the payment method keeps that lookup a lateral subquery: without it the planner
 * pulls it up into a join with the view, whose DISTINCT ON then sorts the whole payment_methods
 * table for every batch (measured: 30-100 ms a statement at 20,000 shoppers) instead of one
 * index probe per scan.
 */
const ADMIT_SQL = `with q as (
    select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::uuid[], $7::timestamptz[],
                         $12::bool[])
      with ordinality as q(shopper, nonce, store, gate, companions, visit_id, at, fresh, ord)),
  f as (
    select q.*, st.id is not null as store_known, coalesce(st.is_open, false) as is_open, st.capacity,
      case when $8 then (select count(*)::int from visit_members vm join visits vv on vv.id = vm.visit_id
        where vv.store_id = q.store and vv.status = 'open' and vm.exited_at is null) else 0 end as inside,
      e.nonce is not null as replayed, s.id is not null as known,
      (exists (select 1 from visits o where o.payer_id = q.shopper and o.status = 'open' and o.entry = 'gate')
        or exists (select 1 from visits o where o.payer_id = q.shopper and o.status = 'open' and o.entry = 'offline'))
        as inside_already,
      pm.provider_token as token, pm.id as method_id,
      (select coalesce(sum(b.amount_minor - b.credited_minor), 0)::bigint from balances_due b
       where b.shopper_id = q.shopper and b.paid_at is null) as unpaid,
      e.visit_id as prior_visit, e.gate_id as prior_gate, pv.store_id as prior_store, pv.status as prior_status,
      pv.companions + 1 as prior_party, rv.id as resume_visit, rv.companions + 1 as resume_party
    from q left join stores st on st.id = q.store left join shoppers s on s.id = q.shopper
    left join lateral (select id, provider_token from current_payment_methods where shopper_id = s.id limit 1) pm on true
    left join entry_redemptions e on e.nonce = q.nonce left join visits pv on pv.id = e.visit_id
    left join lateral (
      select o.id, o.companions from visits o
      where o.payer_id = q.shopper and o.status = 'open' and o.entry = 'gate' and o.store_id = q.store
        and ${unreported('o.id')}) rv on true),
  ok as (
    select distinct on (shopper) * from f
    where fresh and store_known and is_open and not replayed and known and not inside_already
      and token is not null and unpaid = 0 and (capacity is null or ($8 and inside + 1 + companions <= capacity))
    order by shopper, ord),
  v as (
    insert into visits (id, store_id, payer_id, payment_method_id, status, companions, opened_at)
    select visit_id, store, shopper, method_id, 'open', companions, at from ok order by ord
    on conflict (payer_id) where status = 'open' and entry = 'gate' do nothing returning id),
  r as (
    insert into entry_redemptions (nonce, shopper_id, visit_id, gate_id, redeemed_at)
    select ok.nonce, ok.shopper, v.id, ok.gate, ok.at from v join ok on ok.visit_id = v.id),
  m as (
    insert into visit_members (visit_id, member_no, role)
    select v.id, n, case when n = 0 then 'payer' else 'companion' end
    from v join ok on ok.visit_id = v.id cross join lateral generate_series(0, ok.companions) n),
  p as (
    insert into payments (idempotency_key, visit_id, shopper_id, kind, amount_minor, currency, provider, status)
    select 'hold:' || v.id, v.id, ok.shopper, 'hold', $9, $10, $11, 'pending' from v join ok on ok.visit_id = v.id),
  d as (
    insert into gate_decisions (time, store_id, gate_id, decision, reason, shopper_id, visit_id, latency_ms)
    select ok.at, ok.store, ok.gate, 'open', null, ok.shopper, v.id, null from v join ok on ok.visit_id = v.id),
  rs as (
    select distinct on (shopper) * from f
    where fresh and store_known and is_open and not replayed and resume_visit is not null
    order by shopper, ord),
  rl as (
    select o.id from visits o where o.id in (select resume_visit from rs) and o.status = 'open' for share),
  rr as (
    insert into entry_redemptions (nonce, shopper_id, visit_id, gate_id, redeemed_at)
    select rs.nonce, rs.shopper, rs.resume_visit, rs.gate, rs.at from rs join rl on rl.id = rs.resume_visit
    on conflict (nonce) do nothing returning nonce),
  rd as (
    insert into gate_decisions (time, store_id, gate_id, decision, reason, shopper_id, visit_id, latency_ms)
    select rs.at, rs.store, rs.gate, 'open', 'resumed', rs.shopper, rs.resume_visit, null
    from rs join rr on rr.nonce = rs.nonce)
  select f.store_known, f.is_open, f.capacity, f.inside, f.replayed, f.known, f.inside_already, f.token,
    f.method_id, f.unpaid, exists (select 1 from v where v.id = f.visit_id) as claimed,
    f.prior_visit, f.prior_gate, f.prior_store, f.prior_status, f.prior_party, f.resume_visit, f.resume_party,
    exists (select 1 from rr join rs on rs.nonce = rr.nonce where rs.ord = f.ord) as resumed
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
      scans.map((s) => s.fresh),
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

/** An opening's row, written by its admission, gets the latency measured up to the answer. */
export interface DecisionLatency {
  storeId: string;
  /** The admission's time: the row's `time`. */
  at: Date;
  visitId: string;
  /** The row's reason: null for an admission, 'resumed' for a new code opening onto its visit. */
  reason: string | null;
  latencyMs: number;
}

/**
 * What one scan leaves to write after its answer: a decision's row (a denial's, or one a restart
 * restores), an opening's latency, its hold's answer.
 */
export interface GateRecord {
  decision: DecisionRow | null;
  latency?: DecisionLatency | null;
  hold: HoldAnswer | null;
}

/**
 * The decisions' rows, the openings' latencies and the holds' answers, one statement for any
 * number of them. An answer
 * already final (succeeded or declined, written by settlement or a restart that asked the
 * provider under the same key) is not overwritten: it is the same answer.
 */
export async function recordGate(db: Db | Tx, records: readonly GateRecord[]): Promise<void> {
  const decisions = records.flatMap((r) => (r.decision ? [r.decision] : []));
  const held = records.flatMap((r) => (r.hold ? [r.hold] : []));
  const timed = records.flatMap((r) => (r.latency ? [r.latency] : []));
  await db.query({
    name: 'gate.record',
    text: `with h as (
        select * from unnest($9::uuid[], $10::text[], $11::text[], $12::text[]) as h(visit_id, status, ref, failure)),
      p as (
        update payments set status = h.status, provider_ref = h.ref, failure = h.failure, updated_at = now()
        from h where payments.idempotency_key = 'hold:' || h.visit_id::text
          and payments.status in ('pending', 'failed') returning 1),
      l as (
        update gate_decisions d set latency_ms = l.ms
        from unnest($13::text[], $14::timestamptz[], $15::uuid[], $16::real[], $17::text[])
          as l(store, at, visit, ms, reason)
        where d.store_id = l.store and d.time = l.at and d.visit_id = l.visit and d.latency_ms is null
          and d.reason is not distinct from l.reason returning 1)
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
      ...columns(timed, ['storeId', 'at', 'visitId', 'latencyMs', 'reason']),
    ],
  });
}

/** One array per key, in the order given: the columns that `unnest` turns back into rows. */
function columns<T>(rows: readonly T[], keys: readonly (keyof T)[]): unknown[][] {
  return keys.map((k) => rows.map((r) => r[k]));
}
