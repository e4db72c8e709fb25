import { type KeyObject, randomUUID } from 'node:crypto';
import type { Logger } from '../../platform/log.ts';
import { batcher } from '../db/batch.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import type { PaymentProvider, ProviderOutcome } from '../payments/provider.ts';
import {
  type AdmitRequest,
  type AdmitRow,
  admitScans,
  type DecisionRecord,
  recordDecisions,
} from './admission.ts';
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
 * crash between them leaves an `entering` visit that recoverEntering() settles. Both statements
 * are shared by the scans decided at the same moment (admission.ts); a store with a capacity adds
 * a transaction under its lock.
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
  const o = held?.outcome;
  await batchers(deps).record({
    at: deps.now(),
    storeId: scan.storeId,
    gateId: scan.gateId,
    decision: result.decision,
    reason: result.decision === 'deny' ? result.reason : null,
    shopperId,
    visitId: result.decision === 'open' ? result.visitId : null,
    latencyMs,
    hold:
      held && o
        ? {
            visitId: held.visitId,
            status: o.outcome,
            ref: o.outcome === 'succeeded' ? o.ref : null,
            failure: o.outcome === 'succeeded' ? null : `${o.code}: ${o.message}`,
          }
        : null,
  });
  deps.log.debug('gate decision', {
    storeId: scan.storeId,
    gateId: scan.gateId,
    decision: result.decision,
    ...(result.decision === 'deny' ? { reason: result.reason } : { visitId: result.visitId }),
    latencyMs: Math.round(latencyMs * 10) / 10,
  });
  return result;
}

/** One pair of batchers per gate (per process): scans decided at the same time share statements. */
const batchersOf = new WeakMap<
  GateDeps,
  { admit: (r: AdmitRequest) => Promise<AdmitRow>; record: (r: DecisionRecord) => Promise<void> }
>();
function batchers(deps: GateDeps) {
  let b = batchersOf.get(deps);
  if (!b) {
    const limits = { maxItems: 64, maxInFlight: 3 };
    b = {
      admit: batcher((scans: AdmitRequest[]) => admitScans(deps.db, scans, holdTerms(deps), false), limits),
      record: batcher(async (rs: DecisionRecord[]) => {
        await recordDecisions(deps.db, rs);
        return rs.map(() => undefined);
      }, limits),
    };
    batchersOf.set(deps, b);
  }
  return b;
}

const holdTerms = (deps: GateDeps) => ({
  amountMinor: deps.holdAmountMinor,
  currency: deps.currency,
  provider: deps.provider.name,
});

/**
 * Claims the nonce and creates the visit, or says why not. Only a capacity needs admissions in
 * order: then the store's row is locked (two gates cannot both let in the last place) and the
 * scan admitted again under the lock, counting who is inside. Without one, admissions run side by
 * side, batched, which is what lets one store take many scans a second.
 */
async function admit(
  deps: GateDeps,
  scan: GateScan,
  shopperId: string,
  nonce: string,
  companions: number,
): Promise<Admitted | { reason: DenyReason }> {
  const request: AdmitRequest = {
    shopperId,
    nonce,
    storeId: scan.storeId,
    gateId: scan.gateId,
    companions,
    visitId: randomUUID(),
    at: deps.now(),
  };
  const party = 1 + companions;
  const judge = (f: AdmitRow, counted: boolean): Admitted | { reason: DenyReason } | 'count inside' => {
    if (f.claimed) return { visitId: request.visitId, shopperId, token: f.token!, party };
    const pre = precheckEntry({
      code: { ok: true },
      replayed: f.replayed,
      store: f.store_known ? { isOpen: f.is_open, capacity: f.capacity, inside: f.inside } : null,
      party,
      shopper: f.known ? { hasPaymentMethod: f.token !== null, unpaidMinor: f.unpaid } : null,
    });
    if (!pre.open) return { reason: pre.reason };
    if (f.capacity !== null && !counted) return 'count inside';
    // Every rule passed but nothing was claimed: the same code's other scan claimed it first.
    return { reason: 'replayed' };
  };
  const first = judge(await batchers(deps).admit(request), false);
  if (first !== 'count inside') return first;
  return inTransaction(deps.db, async (tx) => {
    await tx.query('select 1 from stores where id = $1 for update', [scan.storeId]);
    const [row] = await admitScans(tx, [request], holdTerms(deps), true);
    const locked = judge(row!, true);
    if (locked === 'count inside') throw new Error('gate: the capacity check under the lock did not count');
    return locked;
  });
}

function holdDecision(a: Admitted, outcome: ProviderOutcome): GateDecision {
  if (outcome.outcome === 'succeeded') {
    return { decision: 'open', visitId: a.visitId, party: a.party, message: 'Welcome in.' };
  }
  return deny(outcome.outcome === 'declined' ? 'payment_declined' : 'payment_unavailable', outcome.message);
}
