/**
 * Who pays for one plate's lines of a resolved weight event: the visit member whose hand was in
 * the plate, or, when reaches of several visits made the change (reaches.ts), each reacher their
 * share; with the lines' confidence, review and evidence. Pure: the engine applies what it returns.
 */
import { doubtEvidence, doubtful } from '../../proto/grpc/evidence.ts';
import type { WeightEvent, WeightHypothesis } from '../types.ts';
import type { Member as BookMember } from '../visits/book.ts';
import { type Attribution, type Candidate, partyConfidence } from './attribute.ts';
import type { FusionConfig } from './config.ts';
import type { LookedReading } from './look.ts';
import { splitByReach } from './reaches.ts';

type Line = WeightHypothesis['lines'][number];

/** Who a line is charged to: a visit member, as the visit book knows them. */
export type Member = Pick<BookMember, 'visitId' | 'memberNo'>;

export type PlateDecision =
  /** The top candidate is on no visit (or nobody was near): `keep` is what to keep for its track. */
  | { paid: false; top: Candidate | undefined; keep: { confidence: number; evidence: string[] } }
  | {
      paid: true;
      confidence: number;
      review: boolean;
      shares: { member: Member; lines: Line[]; evidence: string[] }[];
      /** Set when the plate's change was split by reach. */
      reaches?: { visitId: string; memberNo: number; lines: Line[] }[];
    };

export interface PlateContext {
  event: WeightEvent;
  plateId: string;
  /** The attribution for this plate alone (the event's own when it touched one plate). */
  who: Attribution;
  /**
   * The attribution by the hands alone, when a holder look changed `who`: a change in several
   * reaches is split by it (both reachers' hands held an item; a look that saw one of them would
   * give it all: baseline seed 1, two shoppers' nuts in one event, both charged to one).
   */
  reachWho?: Attribution;
  lines: Line[];
  /** The reading the lines come from. */
  reading: WeightHypothesis;
  looked: LookedReading | null;
  /** The weights' doubt that no look settled. */
  standingDoubt: string | null;
  /** The holder look's evidence, when it found whose hand held the item. */
  holderEvidence?: string | null;
  memberOf: (trackId: string) => Member | null;
  unitG: (sku: string) => number | undefined;
  config: Pick<FusionConfig, 'reaches' | 'attribution' | 'reviewBelow'>;
}

export function decidePlate(c: PlateContext): PlateDecision {
  const { event: e, who, looked, config } = c;
  const top = who.candidates[0];
  const member = top ? c.memberOf(top.trackId) : null;
  const extra = lineEvidence(looked?.evidence ?? null, c.standingDoubt, c.holderEvidence ?? null);
  if (!member)
    return {
      paid: false,
      top,
      keep: {
        confidence: Math.min(who.confidence * c.reading.probability, looked?.cap ?? 1),
        evidence: extra,
      },
    };
  const visitOf = (id: string) => c.memberOf(id)?.visitId ?? null;
  const steps = e.steps?.filter((st) => st.plateId === c.plateId) ?? [];
  const split =
    steps.length >= 2
      ? splitByReach(steps, c.lines, c.reachWho ?? who, c.unitG, visitOf, config.reaches)
      : null;
  // Which member of a party took it does not change the receipt: the party's share decides.
  const belief = split?.confidence ?? partyConfidence(who, visitOf, config.attribution);
  const confidence = Math.min(belief * (looked?.probability ?? c.reading.probability), looked?.cap ?? 1);
  const review = doubtful(confidence, extra, config.reviewBelow);
  if (!split)
    return {
      paid: true,
      confidence,
      review,
      shares: [{ member, lines: c.lines, evidence: [`weight:${e.eventId}`, ...extra] }],
    };
  const shares = split.shares.map((sh, i) => ({
    member: c.memberOf(sh.trackId)!,
    lines: sh.lines,
    evidence: [`weight:${e.eventId}`, `reach:${i + 1}/${split.shares.length}`, ...extra],
  }));
  const reaches = shares.map(({ member: { visitId, memberNo }, lines }) => ({ visitId, memberNo, lines }));
  return { paid: true, confidence, review, shares, reaches };
}

/**
 * A line's evidence beyond its weight event: the look's, and the doubt no look settled. The cloud
 * sees only what is sent: without `doubt:{why}`, a confident reading of a look-alike put-back was
 * charged without anyone looking.
 */
export function lineEvidence(
  look: string | null,
  standingDoubt: string | null,
  holder: string | null = null,
): string[] {
  return [
    ...(holder ? [holder] : []),
    ...(look ? [look] : []),
    ...(standingDoubt !== null ? [doubtEvidence(standingDoubt)] : []),
  ];
}
