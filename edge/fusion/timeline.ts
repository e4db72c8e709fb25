import type { Vec2 } from '../../proto/layout/schema.ts';
import { fieldsOf, restoreFields, type Stateful } from '../state/fields.ts';
import type { HandSighting } from '../types.ts';

/**
 * The last few seconds of where every track stood and where hands were seen, so that a weight event
 * settling after the fact can ask who was there while it happened. Appended in time order (frames
 * reach the fusion in capture order, near enough), pruned from the front.
 */
export class Timeline implements Stateful {
  private readonly where = new Map<string, { tsMs: number; xyM: Vec2 }[]>();
  private handsSeen: HandSighting[] = [];

  constructor(private readonly keepMs: number) {}

  state(): unknown {
    return fieldsOf(this, ['keepMs']);
  }

  restore(state: unknown): void {
    restoreFields(this, state, ['keepMs'], 'timeline');
  }

  position(trackId: string, tsMs: number, xyM: Vec2): void {
    let list = this.where.get(trackId);
    if (!list) {
      list = [];
      this.where.set(trackId, list);
    }
    list.push({ tsMs, xyM });
  }

  hand(s: HandSighting): void {
    this.handsSeen.push(s);
  }

  positions(trackId: string, fromMs: number, toMs: number): Vec2[] {
    const list = this.where.get(trackId) ?? [];
    const inside = list.filter((p) => p.tsMs >= fromMs && p.tsMs <= toMs).map((p) => p.xyM);
    if (inside.length > 0) return inside;
    // Not seen during the window (occluded): its last position before it, if recent enough.
    const before = list.filter((p) => p.tsMs < fromMs).at(-1);
    return before && fromMs - before.tsMs < this.keepMs / 4 ? [before.xyM] : [];
  }

  /** Every position of a track in the window with its time (for traces and benchmarks). */
  samples(trackId: string, fromMs: number, toMs: number): { tsMs: number; xyM: Vec2 }[] {
    return (this.where.get(trackId) ?? []).filter((p) => p.tsMs >= fromMs && p.tsMs <= toMs);
  }

  /** Tracks seen at any time in the window. */
  trackIds(fromMs: number, toMs: number): string[] {
    const ids: string[] = [];
    for (const [id, list] of this.where) {
      if (list.some((p) => p.tsMs >= fromMs - this.keepMs / 4 && p.tsMs <= toMs)) ids.push(id);
    }
    return ids;
  }

  /**
   * Two tracks found to have swapped people from `fromMs` until `toMs` (an identity swap): what
   * each id was seen doing then was the other's person's, so their positions and hands of that
   * time change ids.
   */
  exchange(a: string, b: string, fromMs: number, toMs: number): void {
    const other = (id: string) => (id === a ? b : a);
    const within = (t: number) => t > fromMs && t <= toMs;
    const pa = this.where.get(a) ?? [];
    const pb = this.where.get(b) ?? [];
    const keep = (list: typeof pa) => list.filter((p) => !within(p.tsMs));
    const moved = (list: typeof pa) => list.filter((p) => within(p.tsMs));
    const byTime = (x: { tsMs: number }, y: { tsMs: number }) => x.tsMs - y.tsMs;
    this.where.set(a, [...keep(pa), ...moved(pb)].sort(byTime));
    this.where.set(b, [...keep(pb), ...moved(pa)].sort(byTime));
    this.handsSeen = this.handsSeen.map((s) =>
      (s.trackId === a || s.trackId === b) && within(s.captureMs) ? { ...s, trackId: other(s.trackId) } : s,
    );
  }

  hands(fromMs: number, toMs: number): HandSighting[] {
    return this.handsSeen.filter((s) => s.captureMs >= fromMs && s.captureMs <= toMs);
  }

  prune(nowMs: number): void {
    const cutoff = nowMs - this.keepMs;
    for (const [id, list] of this.where) {
      const keep = list.findIndex((p) => p.tsMs >= cutoff);
      if (keep < 0) this.where.delete(id);
      else if (keep > 0) list.splice(0, keep);
    }
    const first = this.handsSeen.findIndex((s) => s.captureMs >= cutoff);
    this.handsSeen = first < 0 ? [] : this.handsSeen.slice(first);
  }
}
