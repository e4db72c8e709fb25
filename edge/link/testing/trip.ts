import type { Report } from '../../stages.ts';

const SKUS = ['cola-330', 'lemon-330', 'water-500', 'sparkling-500', 'tomato-sauce', 'pesto-sauce'];

/**
 * One shopper's visit as the edge reports it: entering, `takes` cart events (every twelfth puts a
 * cola back, after more were taken), leaving and the close. Each cart event has its own evidence
 * id, so the cloud's rows show which report arrived how often. `expected` is the receipt's lines.
 */
export function shoppingTrip(
  visitId: string,
  takes: number,
): { entered: Report; carts: Report[]; leaving: Report[]; expected: { sku: string; quantity: number }[] } {
  const carts: Report[] = [];
  const net = new Map<string, number>();
  for (let i = 0; i < takes; i++) {
    const putBack = i % 12 === 11;
    const sku = putBack ? 'cola-330' : SKUS[i % SKUS.length]!;
    const quantity = putBack ? -1 : 1;
    net.set(sku, (net.get(sku) ?? 0) + quantity);
    carts.push({
      body: 'cart',
      cart: { visitId, memberNo: 0, sku, quantity, confidence: 0.97, evidence: [`ev-${i}`], grams: 0 },
    });
  }
  return {
    entered: { body: 'visit', visit: { visitId, kind: 'MEMBER_ENTERED', memberNo: 0 } },
    carts,
    leaving: [
      { body: 'visit', visit: { visitId, kind: 'MEMBER_EXITED', memberNo: 0 } },
      { body: 'visit', visit: { visitId, kind: 'VISIT_CLOSED', memberNo: 0 } },
    ],
    expected: [...net]
      .filter(([, q]) => q !== 0)
      .map(([sku, quantity]) => ({ sku, quantity }))
      .sort((a, b) => a.sku.localeCompare(b.sku)),
  };
}
