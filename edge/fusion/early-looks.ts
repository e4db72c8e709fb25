/**
 * Second looks asked for additions still held for confirmation (put-backs), by event id: asked as
 * soon as their frames are in, while the cameras still keep those frames, and handed to the event
 * when it becomes one, if nothing moved meanwhile.
 */
import type { LookAnswer, LookRequest, WeightEvent } from '../types.ts';

export interface EarlyLook {
  signature: string;
  askedMs: number;
  request: LookRequest | null;
  answered: boolean;
  answer: LookAnswer | null;
}

export class EarlyLooks {
  private readonly asked = new Map<string, EarlyLook>();

  /** Whether a look was asked for this addition as it stands now. */
  askedFor(e: WeightEvent): boolean {
    return this.asked.get(e.eventId)?.signature === signature(e);
  }

  ask(e: WeightEvent, nowMs: number, request: LookRequest | null): void {
    this.asked.set(e.eventId, {
      signature: signature(e),
      askedMs: nowMs,
      request,
      answered: false,
      answer: null,
    });
  }

  /** Records an answer; false when no look is waiting for that event. */
  answer(eventId: string, answer: LookAnswer | null): boolean {
    const x = this.asked.get(eventId);
    if (!x) return false;
    x.answered = true;
    x.answer = answer;
    return true;
  }

  /** The look asked for the event, no longer kept; null if none was, or the addition changed since. */
  take(e: WeightEvent): EarlyLook | null {
    const x = this.asked.get(e.eventId);
    this.asked.delete(e.eventId);
    return x && x.signature === signature(e) ? x : null;
  }

  /** An addition that never became an event (lifted off again) leaves its look behind. */
  prune(nowMs: number, keepMs: number): void {
    for (const [id, x] of this.asked) if (nowMs - x.askedMs > keepMs) this.asked.delete(id);
  }

  state(): [string, EarlyLook][] {
    return [...this.asked];
  }

  restore(entries: readonly [string, unknown][]): void {
    this.asked.clear();
    for (const [id, x] of entries) this.asked.set(id, x as EarlyLook);
  }
}

/** What a held addition changed: it is the same event later only if nothing moved meanwhile. */
function signature(e: WeightEvent): string {
  return `${e.settledMs}|${e.plates.map((p) => `${p.plateId}:${p.deltaG}`).join(',')}`;
}
