/**
 * The live publisher's bounded outgoing queue, as a pure value. Messages wait here while the broker
 * is slow or away; a newer message about the same object replaces the waiting one (each carries the
 * object's whole state, so only the newest matters), keeping the lifecycle a subscriber sees
 * intact. Written here rather than taken from a library: the merge rule is ours (new/update/end).
 */
import type { LiveEventType } from '../../proto/mqtt/payloads.ts';

export interface Outgoing {
  topic: string;
  type: LiveEventType;
  /** The payload with `type` still to be set: merging may change it. */
  body: Record<string, unknown>;
  /** A batch whose events carry their own types (tracks): `type` is for merging only. */
  batch?: true;
}

export class CoalescingQueue {
  private readonly waiting = new Map<string, Outgoing>();
  /** Messages replaced by a newer one about the same object. */
  coalesced = 0;
  /** Messages thrown away because the queue was full. */
  dropped = 0;

  /** @param maxWaiting beyond this many waiting objects, one goes (see trim). */
  constructor(private readonly maxWaiting: number) {}

  get size(): number {
    return this.waiting.size;
  }

  /**
   * Queues a message about object `key`. Over a waiting one: new+update stays `new` (the subscriber
   * never saw it), new+end cancels both (it never will), end+new becomes `update` (it still lives
   * for a subscriber that saw the first life); otherwise the newer replaces the older.
   */
  push(key: string, message: Outgoing): void {
    const before = this.waiting.get(key);
    if (!before) {
      this.waiting.set(key, message);
      this.trim(key);
      return;
    }
    this.coalesced++;
    let type = message.type;
    if (before.type === 'new' && message.type === 'end') {
      this.waiting.delete(key);
      return;
    }
    if (before.type === 'new') type = 'new';
    else if (before.type === 'end' && message.type === 'new') type = 'update';
    // Keeps its place in line: an object's messages never overtake another's older ones.
    this.waiting.set(key, { ...message, type });
  }

  shift(): Outgoing | undefined {
    const first = this.waiting.entries().next();
    if (first.done) return undefined;
    this.waiting.delete(first.value[0]);
    return first.value[1];
  }

  /** Over the bound: the oldest update goes (a newer state follows it), else the oldest message;
   * never the one just pushed, so the newest state always gets in. */
  private trim(pushed: string): void {
    if (this.waiting.size <= this.maxWaiting) return;
    let victim: string | undefined;
    let oldest: string | undefined;
    for (const [key, m] of this.waiting) {
      if (key === pushed) continue;
      oldest ??= key;
      if (m.type === 'update') {
        victim = key;
        break;
      }
    }
    victim ??= oldest;
    if (victim !== undefined) this.waiting.delete(victim);
    this.dropped++;
  }
}
