/**
 * Second looks asked for additions still held for confirmation (put-backs), by event id: asked as
 * soon as their frames are in, while the cameras still keep those frames, and handed to the event
 * when it becomes one, if nothing moved meanwhile. A put-back is final seconds after it settles,
 * past what a camera keeps: a holder look asked then read no frame at all (baseline seed 5: each of
 * its 5 contested put-backs came back with no view), so it is asked early too, beside the product
 * look, under an id of its own (`holderLookId`).
 */
import type { LookAnswer, LookRequest, WeightEvent } from '../types.ts';

export interface EarlyLook {
  signature: string;
  askedMs: number;
  request: LookRequest | null;
  answered: boolean;
  answer: LookAnswer | null;
  /** The holder look asked early, for these contested tracks. */
  holder?: EarlyHolder;
}

export interface EarlyHolder {
  tracks: string[];
  request: LookRequest;
  answered: boolean;
  answer: LookAnswer | null;
}

const HOLDER_SUFFIX = '~holder';

/** The id an early holder look is asked and answered under (the event's is its product look's). */
export function holderLookId(eventId: string): string {
  return `${eventId}${HOLDER_SUFFIX}`;
}

export class EarlyLooks {
  private readonly asked = new Map<string, EarlyLook>();

  /** Whether a look was asked for this addition as it stands now. */
  askedFor(e: WeightEvent): boolean {
    return this.asked.get(e.eventId)?.signature === signature(e);
  }

  ask(
    e: WeightEvent,
    nowMs: number,
    request: LookRequest | null,
    holder?: { tracks: string[]; request: LookRequest },
  ): void {
    this.asked.set(e.eventId, {
      signature: signature(e),
      askedMs: nowMs,
      request,
      answered: false,
      answer: null,
      ...(holder ? { holder: { ...holder, answered: false, answer: null } } : {}),
    });
  }

  /** Records an answer (a product or a holder look's); false when no look is waiting for it. */
  answer(eventId: string, answer: LookAnswer | null): boolean {
    const holder = eventId.endsWith(HOLDER_SUFFIX);
    const x = this.asked.get(holder ? eventId.slice(0, -HOLDER_SUFFIX.length) : eventId);
    const to = holder ? x?.holder : x;
    if (!to) return false;
    to.answered = true;
    to.answer = answer;
    return true;
  }

  /** The holder look asked for the event, still kept; null if none was, or the addition changed. */
  holderFor(e: WeightEvent): EarlyHolder | null {
    const x = this.asked.get(e.eventId);
    return x && x.signature === signature(e) ? (x.holder ?? null) : null;
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
