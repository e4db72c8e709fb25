/**
 * The new/update/end bookkeeping behind the live publisher, as pure values: which objects are
 * live, what each last said, when each was last stated. Time is passed in (store-clock ms); nothing
 * here publishes or reads a clock, so the watchdog's rule is tested without a broker.
 */
import type { LiveEventType } from '../../proto/mqtt/payloads.ts';

export interface LiveEvent<T> {
  type: LiveEventType;
  id: string;
  value: T;
}

interface Entry<T> {
  value: T;
  /** JSON of the value as last published: a restated, unchanged object publishes nothing. */
  json: string;
  lastStatedMs: number;
}

/**
 * One kind of live object (tracks, carts, plates or alerts). Each object is `new` once, `update`d
 * while it lives and `end`ed once: explicitly, by missing from a complete set (`replaceAll`), or by
 * the watchdog (`expire`) when nobody has stated it for `quietMs`.
 */
export class LiveObjects<T> {
  private readonly live = new Map<string, Entry<T>>();

  /** @param quietMs an object not stated for this long is ended by `expire`. */
  constructor(private readonly quietMs: number) {}

  get size(): number {
    return this.live.size;
  }

  /** The object's state as last stated, if it is live. */
  get(id: string): T | undefined {
    return this.live.get(id)?.value;
  }

  /**
   * The object's newest state. `new` the first time, `update` when it differs from what was last
   * published (or always, with `always`: a track's position stream), null when unchanged; either
   * way the object counts as stated now and the watchdog leaves it alone.
   */
  state(id: string, value: T, nowMs: number, always = false): LiveEvent<T> | null {
    const json = JSON.stringify(value);
    const entry = this.live.get(id);
    this.live.set(id, { value, json, lastStatedMs: nowMs });
    if (!entry) return { type: 'new', id, value };
    return always || entry.json !== json ? { type: 'update', id, value } : null;
  }

  /** Ends one object with its last state (or a final one given); null if it was not live. */
  end(id: string, value?: T): LiveEvent<T> | null {
    const entry = this.live.get(id);
    if (!entry) return null;
    this.live.delete(id);
    return { type: 'end', id, value: value ?? entry.value };
  }

  /**
   * A complete set of the live objects: each given one is stated (see `state`), and every live
   * object not given ends. Ends come first, in the order the objects were born.
   */
  replaceAll(items: Iterable<readonly [string, T]>, nowMs: number, always = false): LiveEvent<T>[] {
    const given = new Map(items);
    const events: LiveEvent<T>[] = [];
    for (const id of [...this.live.keys()]) {
      if (!given.has(id)) events.push(this.end(id)!);
    }
    for (const [id, value] of given) {
      const event = this.state(id, value, nowMs, always);
      if (event) events.push(event);
    }
    return events;
  }

  /** The watchdog: ends every object not stated within `quietMs` before `nowMs`. */
  expire(nowMs: number): LiveEvent<T>[] {
    const events: LiveEvent<T>[] = [];
    for (const [id, entry] of [...this.live]) {
      if (nowMs - entry.lastStatedMs > this.quietMs) events.push(this.end(id)!);
    }
    return events;
  }

  /** Every live object as an `update` (a slow refresh for late subscribers); nothing changes. */
  refresh(): LiveEvent<T>[] {
    return [...this.live].map(([id, e]) => ({ type: 'update' as const, id, value: e.value }));
  }

  /** Ends everything (shutdown). */
  endAll(): LiveEvent<T>[] {
    return [...this.live.keys()].map((id) => this.end(id)!);
  }
}
