/**
 * Which heads to ask the arm-link model about, per hand: a hand is asked about only when two or
 * more detected heads lie within the model's reach of it (one head cannot be confused with
 * another), nearest heads first, and a frame asks at most `maxPairs` (a crowd's frame would
 * otherwise cost more than its detection: about 1 ms a pair). Pure: the stage runs the model on
 * what this returns.
 */
import type { ArmPair, Detection } from '../../models/runtime/index.ts';

export interface ArmQuery {
  hand: number;
  head: number;
  pair: ArmPair;
}

export interface ArmQueryOptions {
  /** Hands and heads scoring below this are not asked about. */
  minScore: number;
  /** Heads farther than this from the hand (pixels) are not on the model's strip. */
  reachPx: number;
  maxPairs: number;
}

const centre = (d: Detection): [number, number] => [d.bbox.x + d.bbox.w / 2, d.bbox.y + d.bbox.h / 2];

export function armQueries(detections: readonly Detection[], o: ArmQueryOptions): ArmQuery[] {
  const heads = detections.flatMap((d, i) => (d.cls === 'head' && d.score >= o.minScore ? [i] : []));
  const perHand: { hand: number; near: { head: number; px: number }[] }[] = [];
  for (const [i, d] of detections.entries()) {
    if (d.cls !== 'hand' || d.score < o.minScore) continue;
    const [hx, hy] = centre(d);
    const near = heads
      .map((h) => {
        const [gx, gy] = centre(detections[h]!);
        return { head: h, px: Math.hypot(gx - hx, gy - hy) };
      })
      .filter((n) => n.px <= o.reachPx)
      .sort((a, b) => a.px - b.px);
    if (near.length >= 2) perHand.push({ hand: i, near });
  }
  // Each hand's two nearest heads first (a decision needs a rival asked about: hands.ts), then
  // round-robin over the farther ones, so that a cap cuts the least telling pairs.
  const out: ArmQuery[] = [];
  const ask = (hand: number, head: number) =>
    out.push({ hand, head, pair: { hand: centre(detections[hand]!), head: centre(detections[head]!) } });
  const asked = perHand.slice(0, Math.floor(o.maxPairs / 2));
  for (const h of asked) {
    ask(h.hand, h.near[0]!.head);
    ask(h.hand, h.near[1]!.head);
  }
  for (let k = 2; out.length < o.maxPairs; k++) {
    const before = out.length;
    for (const h of asked) {
      const n = h.near[k];
      if (n && out.length < o.maxPairs) ask(h.hand, n.head);
    }
    if (out.length === before) break;
  }
  return out;
}
