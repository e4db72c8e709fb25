/**
 * One plate's change made of several reaches (the plate's level rested between them:
 * edge/weight/steps.ts) by shoppers of different visits: each reach to its own reacher. Two
 * shoppers taking from one plate within a second never let the shelf settle between, so their
 * takes were one event, given whole to one of them (on kept baseline runs, 2 of 12 visits' receipts
 * on one seed were wrong this way). Pure.
 *
 * Only when the weights and the hands agree: every step is a whole number of the line's units and
 * together they are the line; as many hands of different visits as steps reached into the plate,
 * the weakest at least `minShare` of the strongest. A single shopper's reaches, or a bystander's
 * stray ray, leave the event whole.
 */
import type { WeightHypothesis } from '../types.ts';
import type { Attribution, Candidate } from './attribute.ts';

type Line = WeightHypothesis['lines'][number];

export interface ReachShare {
  trackId: string;
  lines: Line[];
}

export interface ReachSplit {
  shares: ReachShare[];
  /** Belief that the reachers made the event: their scores against the best other candidate's. */
  confidence: number;
}

export interface ReachConfig {
  /** A step is k units when it is within this share of k units' weight (or 10 g, if more). */
  unitTolerance: number;
  /** The weakest reacher's score against the strongest's, at least. */
  minShare: number;
}

export function splitByReach(
  steps: readonly { atMs: number; deltaG: number }[],
  lines: readonly Line[],
  who: Attribution,
  unitG: (sku: string) => number | undefined,
  visitOf: (trackId: string) => string | null,
  config: ReachConfig,
): ReachSplit | null {
  const [line] = lines;
  if (steps.length < 2 || lines.length !== 1 || !line || line.grams !== undefined) return null;
  const unit = unitG(line.sku);
  if (!unit) return null;
  const units = steps.map((s) => Math.round(Math.abs(s.deltaG) / unit));
  const fits = steps.every((s, i) => {
    const k = units[i]!;
    return k >= 1 && Math.abs(Math.abs(s.deltaG) - k * unit) <= Math.max(10, config.unitTolerance * k * unit);
  });
  if (!fits || units.reduce((a, b) => a + b, 0) !== Math.abs(line.quantity)) return null;
  // The strongest hand of each visit, strongest first.
  const reachers: Candidate[] = [];
  const visits = new Set<string>();
  for (const c of who.candidates) {
    const visit = visitOf(c.trackId);
    if (c.hands + c.points <= 0 || visit === null || visits.has(visit)) continue;
    visits.add(visit);
    reachers.push(c);
  }
  if (reachers.length < steps.length) return null;
  const chosen = reachers.slice(0, steps.length);
  if (chosen[chosen.length - 1]!.score < config.minShare * chosen[0]!.score) return null;
  // Reaches in time order, to the reachers in the order their hands were first seen in the plate.
  const byHand = [...chosen].sort((a, b) => (a.firstHandMs ?? 0) - (b.firstHandMs ?? 0));
  const order = steps.map((s, i) => ({ s, i })).sort((a, b) => a.s.atMs - b.s.atMs);
  const shares = new Map<string, number>();
  order.forEach(({ i }, rank) => {
    const trackId = byHand[rank]!.trackId;
    shares.set(trackId, (shares.get(trackId) ?? 0) + units[i]!);
  });
  const sign = Math.sign(line.quantity);
  const ours = chosen.reduce((a, c) => a + c.score, 0);
  const other = who.candidates.find((c) => !chosen.includes(c))?.score ?? 0;
  return {
    shares: [...shares].map(([trackId, k]) => ({ trackId, lines: [{ ...line, quantity: sign * k }] })),
    confidence: ours / (ours + other),
  };
}
