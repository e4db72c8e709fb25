import { type KeyObject, randomUUID } from 'node:crypto';
import type { Logger } from '../../platform/log.ts';
import { batcher } from '../db/batch.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import type { PaymentProvider } from '../payments/provider.ts';
import {
  type AdmitRequest,
  type AdmitRow,
  admitScans,
  type DecisionLatency,
  type DecisionRow,
  type GateRecord,
  recordGate,
} from './admission.ts';
import { checkEntryCode, type EntryClaims } from './codes.ts';
import { DENY_MESSAGES, type DenyReason, isSameGateRetry, precheckEntry, type Redemption } from './decide.ts';
import { askUnansweredHold, placeHold } from './hold.ts';

export interface GateDeps {
  db: Db;
  provider: PaymentProvider;
  entryKeys: ReadonlyMap<string, KeyObject>;
  now: () => Date;
  log: Logger;
  holdAmountMinor: number;
  currency: string;
  skewS: number;
  /** How long after a code expires its gate may still ask again and get the first answer. */
  retryWindowS: number;
  /** Every decision's latency, whichever surface (HTTP or the edge link) the scan came by. */
  observe?: (decision: 'open' | 'deny', reason: DenyReason | '', seconds: number) => void;
  /** Each hold asked for after an opening: the provider's answer and how long it took. */
  observeHold?: (outcome: 'succeeded' | 'declined' | 'failed' | 'error', seconds: number) => void;
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
  /** The admission's time, which is its decision row's. */
  at: Date;
}

/**
 * What the admission made of a scan: a new visit, the first answer again, a new code opening onto
 * the visit a lost answer left, or a denial.
 */
type Admission =
  | ({ kind: 'admitted' } & Admitted)
  | { kind: 'repeat'; visitId: string; party: number }
  | { kind: 'resumed'; visitId: string; party: number; at: Date }
  | { kind: 'denied'; reason: DenyReason };

/**
 * One gate scan to one answer. The answer waits for one statement: the admission, which creates
 * the visit (`open`, hold `pending`), claims the code's nonce and writes the decision's row when
 * every rule passes, shared by the scans decided at the same moment (admission.ts); a store with
 * a capacity adds a transaction under its lock. The hold is asked for after the answer (hold.ts
 * says why) and its answer recorded with the decision's latency, again shared; a denial's row is
 * written before its answer. The gate that opened for a code gets the same answer if it asks
 * again within the code's life and GATE_RETRY_WINDOW_S (its answer was lost, or the payer scans
 * once for each member of the party): the same visit, nothing created. A new code of a shopper
 * whose visit in this store nothing has reported on (the answer was lost and the gate gave up, or
 * the shopper went to another entry gate) opens any gate of the store onto that visit: its nonce
 * is claimed and the decision's row written by the admission, and nothing else is created.
 */
export async function decideScan(deps: GateDeps, scan: GateScan): Promise<GateDecision> {
  const started = performance.now();
  const nowMs = deps.now().getTime();
  const check = await checkEntryCode(scan.qr, deps.entryKeys, nowMs, deps.skewS);
  let result: GateDecision;
  let shopperId: string | null = null;
  let admission: Admission | null = null;
  // An expired code is looked up only to answer its gate again; it can never open anew.
  const claims = check.ok ? check.claims : check.reason === 'expired' ? check.claims : null;
  const retryable =
    claims !== null &&
    nowMs < (claims.exp + deps.retryWindowS) * 1000 &&
    claims.iat * 1000 <= nowMs + deps.skewS * 1000;
  if (!check.ok && !retryable) {
    result = deny(check.reason, check.detail);
  } else {
    shopperId = claims!.sub;
    admission = await admit(deps, scan, claims!, check.ok);
    if (admission.kind === 'denied')
      result = check.ok ? deny(admission.reason) : deny(check.reason, check.detail);
    else
      result = {
        decision: 'open',
        visitId: admission.visitId,
        party: admission.party,
        message: 'Welcome in.',
      };
  }
  const latencyMs = performance.now() - started;
  deps.observe?.(result.decision, result.decision === 'deny' ? result.reason : '', latencyMs / 1000);
  const work = gateWork(deps);
  // An opening's row is the admission's: its latency is added to it afterwards.
  const latencyOf = (a: { at: Date; visitId: string }, reason: string | null): DecisionLatency => ({
    storeId: scan.storeId,
    at: a.at,
    visitId: a.visitId,
    reason,
    latencyMs,
  });
  if (admission?.kind === 'admitted') {
    work.background(holdAfterOpening(deps, work.record, admission, latencyOf(admission, null)));
  } else if (admission?.kind === 'resumed') {
    const latency = latencyOf(admission, 'resumed');
    // Its row is written already (the admission did): the answer need not wait for the latency.
    const visitId = admission.visitId;
    work.background(
      work
        .record({ decision: null, latency, hold: null })
        .catch((err: unknown) => deps.log.error('latency of a resumed opening not written', { visitId, err }))
        .then(() => askHoldAgain(deps, visitId)),
    );
  } else {
    const decision: DecisionRow = {
      at: deps.now(),
      storeId: scan.storeId,
      gateId: scan.gateId,
      decision: result.decision,
      // A gate asking again is answered as it was the first time; its row says so.
      reason: result.decision === 'deny' ? result.reason : 'retry',
      shopperId,
      visitId: result.decision === 'open' ? result.visitId : null,
      latencyMs,
    };
    await work.record({ decision, hold: null });
    if (admission?.kind === 'repeat') work.background(askHoldAgain(deps, admission.visitId));
  }
  deps.log.debug('gate decision', {
    storeId: scan.storeId,
    gateId: scan.gateId,
    decision: result.decision,
    ...(result.decision === 'deny' ? { reason: result.reason } : { visitId: result.visitId }),
    ...(admission?.kind === 'repeat' || admission?.kind === 'resumed' ? { [admission.kind]: true } : {}),
    latencyMs: Math.round(latencyMs * 10) / 10,
  });
  return result;
}

async function holdAfterOpening(
  deps: GateDeps,
  record: (r: GateRecord) => Promise<void>,
  a: Admitted,
  latency: DecisionLatency,
): Promise<void> {
  const order = {
    visitId: a.visitId,
    shopperId: a.shopperId,
    token: a.token,
    amountMinor: deps.holdAmountMinor,
    currency: deps.currency,
  };
  const started = performance.now();
  try {
    const held = await placeHold(deps, order, { decision: null, latency }, record);
    deps.observeHold?.(held.outcome, (performance.now() - started) / 1000);
  } catch (err) {
    // The visit's hold stays pending: settlement asks for it at the close, a restart before.
    deps.observeHold?.('error', (performance.now() - started) / 1000);
    deps.log.error('hold after the gate opened failed', { visitId: a.visitId, err });
  }
}

/** A visit answered again may still lack its hold's answer (the process died before it came). */
async function askHoldAgain(deps: GateDeps, visitId: string): Promise<void> {
  try {
    await askUnansweredHold(deps, visitId);
  } catch (err) {
    deps.log.error('asking again for the hold of a visit answered again failed', { visitId, err });
  }
}

/**
 * Waits for the holds asked for after answers already given (a process stopping lets them
 * finish, so their answers are recorded rather than asked again at the next start).
 */
export async function gateIdle(deps: GateDeps): Promise<void> {
  const w = workOf.get(deps);
  while (w && w.running.size > 0) await Promise.allSettled([...w.running]);
}

interface GateWork {
  admit: (r: AdmitRequest) => Promise<AdmitRow>;
  record: (r: GateRecord) => Promise<void>;
  running: Set<Promise<void>>;
  background: (p: Promise<void>) => void;
}

/** One set of batchers per gate (per process): scans decided at the same time share statements. */
const workOf = new WeakMap<GateDeps, GateWork>();
function gateWork(deps: GateDeps): GateWork {
  let w = workOf.get(deps);
  if (!w) {
    const running = new Set<Promise<void>>();
    w = {
      admit: batcher((scans: AdmitRequest[]) => admitScans(deps.db, scans, holdTerms(deps), false), {
        maxItems: 64,
        maxInFlight: 3,
      }),
      // Nobody waits for a hold's record, so its batches may grow: fewer, larger commits leave
      // more of the database to the admissions that answers do wait for.
      record: batcher(
        async (rs: GateRecord[]) => {
          await recordGate(deps.db, rs);
          return rs.map(() => undefined);
        },
        { maxItems: 256, maxInFlight: 2 },
      ),
      running,
      background: (p) => {
        running.add(p);
        void p.finally(() => running.delete(p));
      },
    };
    workOf.set(deps, w);
  }
  return w;
}

const holdTerms = (deps: GateDeps) => ({
  amountMinor: deps.holdAmountMinor,
  currency: deps.currency,
  provider: deps.provider.name,
});

/**
 * Creates the visit and claims the nonce, or says why not. Only a capacity needs admissions in
 * order: then the store's row is locked (two gates cannot both let in the last place) and the
 * scan admitted again under the lock, counting who is inside. Without one, admissions run side by
 * side, batched, which is what lets one store take many scans a second. A scan that passed every
 * rule but lost the visit's insert to a racing scan of the same shopper is admitted once more,
 * which then sees the winner: the same code from the same gate is answered as it, a new code in
 * the same store opens onto its visit, anything else is a replay or `already_inside`. So is a scan
 * that could have resumed a visit but lost the code's claim to a racing scan, or found the visit
 * closed or expired under its lock.
 */
async function admit(
  deps: GateDeps,
  scan: GateScan,
  claims: EntryClaims,
  fresh: boolean,
): Promise<Admission> {
  const request: AdmitRequest = {
    shopperId: claims.sub,
    nonce: claims.nonce,
    storeId: scan.storeId,
    gateId: scan.gateId,
    companions: claims.companions,
    visitId: randomUUID(),
    at: deps.now(),
    fresh,
  };
  const party = 1 + claims.companions;
  const judge = (f: AdmitRow, counted: boolean): Admission | 'count inside' | 'lost' => {
    if (f.claimed)
      return {
        kind: 'admitted',
        visitId: request.visitId,
        shopperId: claims.sub,
        token: f.token!,
        party,
        at: request.at,
      };
    if (f.resumed)
      return { kind: 'resumed', visitId: f.resume_visit!, party: f.resume_party!, at: request.at };
    if (f.prior_visit !== null) {
      const prior: Redemption = {
        visitId: f.prior_visit,
        gateId: f.prior_gate!,
        storeId: f.prior_store!,
        visitStatus: f.prior_status!,
        party: f.prior_party!,
      };
      if (isSameGateRetry(prior, scan)) return { kind: 'repeat', visitId: prior.visitId, party: prior.party };
    }
    if (!fresh) return { kind: 'denied', reason: 'expired' };
    if (f.resume_visit !== null && f.store_known && f.is_open && !f.replayed) return 'lost';
    const pre = precheckEntry({
      code: { ok: true },
      replayed: f.replayed,
      store: f.store_known ? { isOpen: f.is_open, capacity: f.capacity, inside: f.inside } : null,
      party,
      shopper: f.known
        ? { hasPaymentMethod: f.token !== null, unpaidMinor: f.unpaid, insideAlready: f.inside_already }
        : null,
    });
    if (!pre.open) return { kind: 'denied', reason: pre.reason };
    if (f.capacity !== null && !counted) return 'count inside';
    return 'lost';
  };
  const once = async (): Promise<Admission | 'lost'> => {
    const first = judge(await gateWork(deps).admit(request), false);
    if (first !== 'count inside') return first;
    return inTransaction(deps.db, async (tx) => {
      await tx.query('select 1 from stores where id = $1 for update', [scan.storeId]);
      const [row] = await admitScans(tx, [request], holdTerms(deps), true);
      const locked = judge(row!, true);
      if (locked === 'count inside') throw new Error('gate: the capacity check under the lock did not count');
      return locked;
    });
  };
  const first = await once();
  if (first !== 'lost') return first;
  // The racing scan has committed by now (its insert is what this one waited on).
  const again = await once();
  return again === 'lost' ? { kind: 'denied', reason: 'replayed' } : again;
}
