import type { SequencedMessage } from '../../proto/grpc/edge-link.ts';
import type { ErrorCode } from '../../proto/index.ts';

export interface VisitFacts {
  storeId: string;
  status: 'open' | 'closed' | 'settled' | 'cancelled' | 'expired';
  /** The payer and companions. */
  party: number;
}

export interface Refusal {
  message: SequencedMessage;
  code: ErrorCode;
  reason: string;
}

function visitOf(m: SequencedMessage): { visitId: string; memberNo: number } | null {
  if (m.body === 'visit') return { visitId: m.visit.visitId, memberNo: m.visit.memberNo };
  if (m.body === 'cart') return { visitId: m.cart.visitId, memberNo: m.cart.memberNo };
  return null;
}

/**
 * Which of an edge's messages may be applied. An edge speaks for its own store only, and about
 * visits that can still change: a report on a settled visit would alter a receipt already sent.
 */
export function classify(
  messages: readonly SequencedMessage[],
  visits: ReadonlyMap<string, VisitFacts>,
  storeId: string,
): { accepted: SequencedMessage[]; refused: Refusal[] } {
  const accepted: SequencedMessage[] = [];
  const refused: Refusal[] = [];
  for (const m of messages) {
    const ref = visitOf(m);
    if (!ref) {
      accepted.push(m);
      continue;
    }
    const v = visits.get(ref.visitId);
    if (!v) refused.push({ message: m, code: 'VISIT_UNKNOWN', reason: `no visit ${ref.visitId}` });
    else if (v.storeId !== storeId) {
      refused.push({
        message: m,
        code: 'FORBIDDEN',
        reason: `visit ${ref.visitId} is not of store ${storeId}`,
      });
    } else if (v.status === 'settled' || v.status === 'cancelled' || v.status === 'expired') {
      refused.push({ message: m, code: 'VISIT_NOT_OPEN', reason: `visit ${ref.visitId} is ${v.status}` });
    } else if (ref.memberNo >= v.party) {
      refused.push({
        message: m,
        code: 'MEMBER_UNKNOWN',
        reason: `visit ${ref.visitId} has ${v.party} members`,
      });
    } else accepted.push(m);
  }
  return { accepted, refused };
}

export function visitIds(messages: readonly SequencedMessage[]): string[] {
  return [...new Set(messages.map(visitOf).flatMap((r) => (r ? [r.visitId] : [])))];
}
