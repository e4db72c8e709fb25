import { type KeyObject, randomUUID } from 'node:crypto';
import type { Logger } from '../../platform/log.ts';
import { batcher } from '../db/batch.ts';
import { type Db, inTransaction } from '../db/pool.ts';
import type { PaymentProvider } from '../payments/provider.ts';
import {
  type AdmitRequest,
  type AdmitRow,
  admitScans,
  type DecisionRow,
  type GateRecord,
  recordGate,
} from './admission.ts';
import { checkEntryCode } from './codes.ts';
import { DENY_MESSAGES, type DenyReason, precheckEntry } from './decide.ts';
import { placeHold } from './hold.ts';

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
}

/**
 * One gate scan to one answer. The answer waits for one statement: the admission, which claims
 * the code's nonce and creates the visit (`open`, hold `pending`) when every rule passes, shared
 * by the scans decided at the same moment (admission.ts); a store with a capacity adds a
 * transaction under its lock. The hold is asked for after the answer (hold.ts says why) and
 * recorded with the decision's row, again shared; a denial's row is written before its answer.
 */
export async function decideScan(deps: GateDeps, scan: GateScan): Promise<GateDecision> {
  const started = performance.now();
  const check = await checkEntryCode(scan.qr, deps.entryKeys, deps.now().getTime(), deps.skewS);
  let result: GateDecision;
  let shopperId: string | null = null;
  let admitted: Admitted | null = null;
  if (!check.ok) {
    result = deny(check.reason, check.detail);
  } else {
    shopperId = check.claims.sub;
    const a = await admit(deps, scan, check.claims.sub, check.claims.nonce, check.claims.companions);
    if ('reason' in a) result = deny(a.reason);
    else {
      admitted = a;
      result = { decision: 'open', visitId: a.visitId, party: a.party, message: 'Welcome in.' };
    }
  }
  const latencyMs = performance.now() - started;
  deps.observe?.(result.decision, result.decision === 'deny' ? result.reason : '', latencyMs / 1000);
  const decision: DecisionRow = {
    at: deps.now(),
    storeId: scan.storeId,
    gateId: scan.gateId,
    decision: result.decision,
    reason: result.decision === 'deny' ? result.reason : null,
    shopperId,
    visitId: result.decision === 'open' ? result.visitId : null,
    latencyMs,
  };
  const work = gateWork(deps);
  if (admitted) work.background(holdAfterOpening(deps, work.record, admitted, decision));
  else await work.record({ decision, hold: null });
  deps.log.debug('gate decision', {
    storeId: scan.storeId,
    gateId: scan.gateId,
    decision: result.decision,
    ...(result.decision === 'deny' ? { reason: result.reason } : { visitId: result.visitId }),
    latencyMs: Math.round(latencyMs * 10) / 10,
  });
  return result;
}

async function holdAfterOpening(
  deps: GateDeps,
  record: (r: GateRecord) => Promise<void>,
  a: Admitted,
  decision: DecisionRow,
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
    const held = await placeHold(deps, order, decision, record);
    deps.observeHold?.(held.outcome, (performance.now() - started) / 1000);
  } catch (err) {
    // The visit's hold stays pending: settlement asks for it at the close, a restart before.
    deps.observeHold?.('error', (performance.now() - started) / 1000);
    deps.log.error('hold after the gate opened failed', { visitId: a.visitId, err });
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
  const first = judge(await gateWork(deps).admit(request), false);
  if (first !== 'count inside') return first;
  return inTransaction(deps.db, async (tx) => {
    await tx.query('select 1 from stores where id = $1 for update', [scan.storeId]);
    const [row] = await admitScans(tx, [request], holdTerms(deps), true);
    const locked = judge(row!, true);
    if (locked === 'count inside') throw new Error('gate: the capacity check under the lock did not count');
    return locked;
  });
}
