/**
 * The edge as the gate's authority, as one pure function: a scan, the cloud's answer (null when it
 * could not give one) and the offline check of the code (made only when the cloud did not answer)
 * become the barrier's command, and, for an entry admitted offline, the report the cloud must get
 * (a party's later members pass on the entry's `PartyPass`, with nothing more to report).
 * The I/O around it (asking, checking, storing the report, publishing) is edge/link/gate-authority.ts.
 */
import { createHash } from 'node:crypto';
import type { GateCommand, GateScan } from '../../proto/mqtt/payloads.ts';
import type { GateAnswer, Report } from '../stages.ts';
import type { OfflineCheck } from './offline-gate.ts';

/**
 * The reason the cloud gives when it received the scan but could not decide (its database failed):
 * for the gate that is the same as no answer, so the code is checked offline.
 */
export const CLOUD_UNAVAILABLE_REASON = 'unavailable';

/** An offline opening says so in its reason, for whoever reads the gate's commands. */
export const OFFLINE_OPEN_REASON = 'offline';

/** The deny reason when an offline entry could not be stored for the cloud: no record, no entry. */
export const OFFLINE_UNRECORDED_REASON = 'offline_unrecorded';

/** The cloud's answer when it gave one the gate can act on; null sends the scan to the offline check. */
export function cloudDecided(answer: GateAnswer | null): GateAnswer | null {
  if (!answer) return null;
  if (!answer.open && answer.reason === CLOUD_UNAVAILABLE_REASON) return null;
  return answer;
}

/**
 * How long after its code expires a party's later member may still pass on it offline: the cloud's
 * `GATE_RETRY_WINDOW_S`, within which it answers a gate's repeat of an admitted code the same way.
 */
export const PARTY_PASS_AFTER_EXPIRY_MS = 60_000;

/**
 * An offline entry's remaining passes: the payer scans one code once per member at the same gate
 * (docs/cloud.md, "A party enters on one code"), and offline the edge lets the next `party − 1`
 * scans of it through onto the visit it opened, as the gate's controller or the cloud would.
 */
export interface PartyPass {
  visitId: string;
  gateId: string;
  party: number;
  left: number;
  untilMs: number;
}

export interface GateOutcome {
  command: GateCommand;
  /** The OfflineEntry to store (durably, before the gate opens); null when the cloud decided. */
  report: Report | null;
}

/**
 * The command's id follows from the scan's (as the simulator's gates name theirs), so a gate and
 * the edge's own fusion see one command per scan however often it is delivered. A scan id too long
 * for the suffix (ids are at most 64 characters) is hashed instead.
 */
export const commandIdFor = (scanId: string) =>
  scanId.length <= 60
    ? `${scanId}-cmd`
    : `cmd-${createHash('sha256').update(scanId).digest('hex').slice(0, 40)}`;

/**
 * What the gate does about `scan`. `answer` is the cloud's (already through cloudDecided);
 * `offline` is the edge's own check of the code, used only when `answer` is null (a missing check
 * then denies: the gate fails closed). `offlineVisitId` names the visit an offline entry opens.
 */
export function decideGate(
  scan: Pick<GateScan, 'scanId' | 'gateId' | 'qr'>,
  answer: GateAnswer | null,
  offline: OfflineCheck | null,
  at: { tsMs: number; offlineVisitId: string },
  /** The code's passes left from an offline entry; used only when `answer` is null. */
  pass: PartyPass | null = null,
): GateOutcome {
  const base = {
    commandId: commandIdFor(scan.scanId),
    gateId: scan.gateId,
    tsMs: at.tsMs,
    scanId: scan.scanId,
  };
  if (answer) {
    return {
      command: answer.open
        ? { ...base, action: 'open', visitId: answer.visitId, party: Math.max(1, answer.party) }
        : { ...base, action: 'deny', reason: reasonText(answer.reason) },
      report: null,
    };
  }
  if (pass && pass.gateId === scan.gateId && pass.left > 0 && at.tsMs <= pass.untilMs)
    return {
      command: {
        ...base,
        action: 'open',
        reason: OFFLINE_OPEN_REASON,
        visitId: pass.visitId,
        party: pass.party,
      },
      report: null,
    };
  if (!offline) return { command: deny(scan, CLOUD_UNAVAILABLE_REASON, at.tsMs), report: null };
  if (!offline.ok) return { command: deny(scan, offline.reason, at.tsMs), report: null };
  const visitId = at.offlineVisitId;
  return {
    command: {
      ...base,
      action: 'open',
      reason: OFFLINE_OPEN_REASON,
      visitId,
      party: offline.claims.companions + 1,
    },
    report: { body: 'offlineEntry', offlineEntry: { visitId, gateId: scan.gateId, qr: scan.qr } },
  };
}

/** A denial of `scan` (also when an offline entry's report could not be stored). */
export function deny(scan: Pick<GateScan, 'scanId' | 'gateId'>, reason: string, tsMs: number): GateCommand {
  return {
    commandId: commandIdFor(scan.scanId),
    gateId: scan.gateId,
    tsMs,
    action: 'deny',
    scanId: scan.scanId,
    reason: reasonText(reason),
  };
}

/** GateCommand.reason is 1–200 characters. */
const reasonText = (reason: string) => (reason || 'denied').slice(0, 200);
