/**
 * Lines that go back to whom they belonged once the tracker finds two tracks had swapped people.
 * In a crowd two tracks can take over each other's person; re-id gives the identities back later
 * (edge/tracking/identity.ts), sometimes 20 s later, and meanwhile each id's events went to the
 * other's visit (baseline seed 9: two shoppers' picks charged to each other's party). The fusion
 * keeps what it gave each track for a while (`GivenLog`); a swap moves what either id was given
 * since both last looked like themselves to the other id's member. Pure.
 */
import type { IdentitySwap } from '../types.ts';
import type { Member } from './lines.ts';

export interface Given {
  eventId: string;
  trackId: string;
  /** Null when the lines went to no member through this track alone (on no visit, split by reach). */
  member: Member | null;
  /** A take (the track's hand holds what it took). */
  take: boolean;
  lines: { sku: string; quantity: number; grams?: number }[];
  settledMs: number;
  confidence: number;
  evidence: string[];
}

export class GivenLog {
  private items: Given[] = [];

  /** `keepMs`: how long (store time) a line given may still move. */
  constructor(private readonly keepMs: number) {}

  push(g: Given): void {
    this.items.push(g);
    const cutoff = g.settledMs - this.keepMs;
    while (this.items.length > 0 && this.items[0]!.settledMs < cutoff) this.items.shift();
  }

  entries(): readonly Given[] {
    return this.items;
  }

  state(): Given[] {
    return this.items;
  }

  restore(items: readonly Given[]): void {
    this.items = [...items];
  }
}

/**
 * What a swap moves: every line given under either id after `sinceMs` and up to the swap, to the
 * other id's member, when the two are members of different visits (within a party it changes no
 * receipt). Nothing when either id is on no visit, nor for lines given to no member.
 */
export function swapMoves(
  given: readonly Given[],
  swap: IdentitySwap,
  memberOf: (trackId: string) => Member | null,
): { given: Given; to: Member; toTrackId: string }[] {
  const [a, b] = swap.trackIds;
  const ma = memberOf(a);
  const mb = memberOf(b);
  if (!ma || !mb || ma.visitId === mb.visitId) return [];
  return given
    .filter(
      (g) =>
        g.member !== null &&
        (g.trackId === a || g.trackId === b) &&
        g.settledMs > swap.sinceMs &&
        g.settledMs <= swap.atMs,
    )
    .map((g) => (g.trackId === a ? { given: g, to: mb, toTrackId: b } : { given: g, to: ma, toTrackId: a }));
}
