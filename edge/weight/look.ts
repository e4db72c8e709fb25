import type { WeightConfig } from './config.ts';
import type { ShelfContents } from './contents.ts';
import type { IdentifiedHypothesis, WeightDoubt } from './identify.ts';

/**
 * Which products a second look (the held-item model and the classifier on the hand's main-stream
 * crop) should choose between, or [] when the weights settle the event alone. Weight and plate come
 * first; vision is asked only where they cannot tell:
 * - the candidates include products of near-equal weight (the reading's twins, or another product's
 *   reading the weights cannot rule out), or
 * - an item comes back to a plate that did not hold it (the reading is then the carried product
 *   that fits, which the look confirms or contradicts), or the reading fits badly or names a product
 *   nobody carries and the plate does not hold.
 * Only readings of one unit-sold product are looked at: the classifier names a product, it does not
 * count units or weigh loose produce. Pure.
 */
export function lookCandidates(
  hypotheses: readonly IdentifiedHypothesis[],
  doubt: WeightDoubt | null,
  contents: ShelfContents,
  config: Pick<WeightConfig, 'lookAlternativeMinP'>,
): string[] {
  const best = hypotheses[0];
  const line = best?.lines.length === 1 ? best.lines[0]! : undefined;
  if (!best || !line || line.grams !== undefined || doubt === 'unexplained') return [];
  const candidates = new Set([line.sku, ...best.lookalikes]);
  for (const h of hypotheses.slice(1)) {
    const other = h.lines.length === 1 ? h.lines[0]! : undefined;
    if (other && other.grams === undefined && h.probability >= config.lookAlternativeMinP)
      candidates.add(other.sku);
  }
  const put = line.quantity < 0;
  const foreign = put && !contents.candidates([line.plateId]).some((c) => c.sku === line.sku);
  const doubtful = doubt === 'unexpected' || doubt === 'misfit';
  return candidates.size > 1 || foreign || doubtful ? [...candidates] : [];
}
