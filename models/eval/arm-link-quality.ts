/**
 * The shipped arm-link model on strips drawn now from a simulation no training run used, through
 * the loader: per hand at a shelf with two heads or more within reach (one its own), whether the
 * model's best head is the owner's, whether the nearest head in the image is (the rule the model
 * must beat), and how often it decides (≥ accept for one, ≤ reject for the rest) and is right.
 */
import { type ArmPlan, armStrips } from '../data/arm-strips.ts';
import type { ArmLinkModel, ArmPair, RawImage } from '../runtime/index.ts';

export interface ArmLinkQuality {
  hands: number;
  bestRight: number;
  nearestRight: number;
  decided: number;
  decidedRight: number;
}

export async function armLinkQuality(
  model: ArmLinkModel,
  plan: ArmPlan,
  bounds: { accept: number; reject: number },
): Promise<ArmLinkQuality> {
  const byHand = new Map<
    string,
    { frame: RawImage; pairs: { same: boolean; px: number; pair: ArmPair }[] }
  >();
  for await (const s of armStrips(plan, 0)) {
    if (!s.reaching) continue;
    const h = byHand.get(s.hand) ?? { frame: s.frame, pairs: [] };
    h.pairs.push({ same: s.same, px: s.px, pair: s.pair });
    byHand.set(s.hand, h);
  }
  const q: ArmLinkQuality = { hands: 0, bestRight: 0, nearestRight: 0, decided: 0, decidedRight: 0 };
  for (const { frame, pairs } of byHand.values()) {
    if (pairs.length < 2 || !pairs.some((p) => p.same)) continue;
    const { probabilities: p } = await model.link(
      frame,
      pairs.map((x) => x.pair),
    );
    const order = p.map((_, i) => i).sort((a, b) => p[b]! - p[a]!);
    const best = pairs[order[0]!]!;
    const nearest = pairs.reduce((a, b) => (b.px < a.px ? b : a));
    q.hands++;
    if (best.same) q.bestRight++;
    if (nearest.same) q.nearestRight++;
    if (p[order[0]!]! >= bounds.accept && p[order[1]!]! <= bounds.reject) {
      q.decided++;
      if (best.same) q.decidedRight++;
    }
  }
  return q;
}
