/**
 * The cumulative acknowledgement of one edge: the highest seq with every seq up to it stored.
 * Messages past a gap are stored too (nothing is dropped while waiting), but acknowledged only
 * once the gap fills, so the edge's resend after a reconnect covers exactly what may be missing.
 */
export class Watermark {
  private readonly ahead = new Set<number>();

  constructor(
    private acked: number,
    stored: Iterable<number> = [],
  ) {
    for (const s of stored) this.add(s);
  }

  get value(): number {
    return this.acked;
  }

  /**
   * Takes in what the database says is stored (its saved acknowledgement and the seqs past it):
   * another stream of the same edge, or another process, may have stored more than this one saw.
   */
  raise(acked: number, stored: Iterable<number> = []): number {
    if (acked > this.acked) {
      this.acked = acked;
      for (const s of this.ahead) if (s <= acked) this.ahead.delete(s);
    }
    for (const s of stored) this.add(s);
    return this.add(this.acked);
  }

  /** Records seq as stored and returns the new acknowledgement. */
  add(seq: number): number {
    if (seq > this.acked) this.ahead.add(seq);
    while (this.ahead.delete(this.acked + 1)) this.acked += 1;
    return this.acked;
  }

  /** Seqs stored beyond the gap, for diagnostics. */
  get waiting(): number {
    return this.ahead.size;
  }
}
