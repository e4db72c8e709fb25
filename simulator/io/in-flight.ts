/**
 * Requests to the outside (the cloud) that have not been answered yet. A run paced by the wall
 * clock ignores it; a run flat out waits for it before the next step, so that simulated time does
 * not race past answers that take real milliseconds to come.
 */
export class InFlight {
  private readonly open = new Set<Promise<void>>();

  get size(): number {
    return this.open.size;
  }

  /** Returns `p` itself; its outcome is the caller's, this only notes when it is over. */
  track<T>(p: Promise<T>): Promise<T> {
    const over: Promise<void> = p.then(
      () => {
        this.open.delete(over);
      },
      () => {
        this.open.delete(over);
      },
    );
    this.open.add(over);
    return p;
  }

  /** Resolves once nothing is outstanding, including requests started while waiting. */
  async settled(): Promise<void> {
    while (this.open.size > 0) await Promise.all([...this.open]);
  }
}
