/**
 * Shelf events whose lines went to a track on no visit, kept in case the track turns out to be a
 * member's (bound late, or crossing out with a trackless member): on kept baseline runs, a shopper
 * whose crossing was bound to a split track at the entry lost every pick until this was kept.
 */
/** A shelf event's lines that went to a track on no visit, kept in case it is a member's. */
export interface Unclaimed {
  trackId: string;
  eventId: string;
  settledMs: number;
  lines: { sku: string; quantity: number; grams?: number }[];
  confidence: number;
  /** The line's evidence beyond its weight event (the look's, a doubt); absent in older checkpoints. */
  evidence?: string[];
}

export class UnclaimedEvents {
  private items: Unclaimed[] = [];

  /** `withinMs`: how long an event is kept, by store time (claimWithinMs). */
  constructor(private readonly withinMs: number) {}

  keep(u: Unclaimed): void {
    this.items.push(u);
    const cutoff = u.settledMs - this.withinMs;
    while (this.items.length > 0 && this.items[0]!.settledMs < cutoff) this.items.shift();
  }

  /** A track's events, oldest first, no longer kept. */
  take(trackId: string): Unclaimed[] {
    const mine = this.items.filter((u) => u.trackId === trackId);
    if (mine.length > 0) this.items = this.items.filter((u) => u.trackId !== trackId);
    return mine;
  }

  state(): Unclaimed[] {
    return this.items;
  }

  restore(items: readonly Unclaimed[]): void {
    this.items = [...items];
  }
}
