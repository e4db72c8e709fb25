/**
 * From the cart events of a visit to the lines and totals of its receipt. Pure: the prices,
 * promotions and loyalty rule in force at the visit's close are passed in.
 */
import { doubtful } from '../../proto/grpc/evidence.ts';

export interface CartEvent {
  sku: string;
  quantity: number;
  grams: number;
  confidence: number;
  evidence: readonly string[];
}

export interface CartLine {
  sku: string;
  quantity: number;
  grams: number;
  /** The least confident event that put the line's units in the cart. */
  confidence: number;
  evidence: string[];
}

/**
 * Should a person look at this cart before it is charged: some event the edge sent was believed
 * less than the store's threshold, or came with a doubt (`doubt:{why}` in its evidence: a reading
 * the weights could not settle and no look confirmed). Every event counts, not only the netted
 * lines: a put-back given to the wrong shopper, or read as its look-alike twin, nets away on one
 * receipt and is wrong on the other. No threshold: the store reviews nothing.
 */
export function inDoubt(events: readonly CartEvent[], threshold: number | null): boolean {
  if (threshold === null) return false;
  return events.some((e) => doubtful(e.confidence, e.evidence, threshold));
}

/** Takes and put-backs summed per SKU, in any order; SKUs that net to nothing leave the cart. */
export function netCart(events: readonly CartEvent[]): CartLine[] {
  const lines = new Map<string, CartLine>();
  for (const e of events) {
    const l = lines.get(e.sku) ?? { sku: e.sku, quantity: 0, grams: 0, confidence: 1, evidence: [] };
    l.quantity += e.quantity;
    l.grams += e.grams;
    l.confidence = Math.min(l.confidence, e.confidence);
    l.evidence.push(...e.evidence);
    lines.set(e.sku, l);
  }
  return [...lines.values()]
    .filter((l) => l.quantity > 0)
    .map((l) => ({ ...l, grams: Math.max(0, l.grams), evidence: [...new Set(l.evidence)].sort() }))
    .sort((a, b) => a.sku.localeCompare(b.sku));
}

export interface PriceEntry {
  name: string;
  soldBy: 'unit' | 'weight';
  /** Per unit, or per kilogram when sold by weight. */
  priceMinor: number;
}

export interface Multibuy {
  sku: string;
  name: string;
  buyQty: number;
  bundleMinor: number;
}

export interface ReceiptLine {
  lineNo: number;
  sku: string;
  name: string;
  quantity: number;
  grams: number | null;
  unitPriceMinor: number;
  amountMinor: number;
  discountMinor: number;
  promotion: string | null;
  confidence: number;
  evidence: string[];
}

export interface PricedReceipt {
  lines: ReceiptLine[];
  subtotalMinor: number;
  discountMinor: number;
  totalMinor: number;
  pointsEarned: number;
  /** SKUs in the cart that had no price at the visit's time: never charged, always reviewed. */
  unpriced: string[];
}

export function priceCart(
  cart: readonly CartLine[],
  prices: ReadonlyMap<string, PriceEntry>,
  promotions: readonly Multibuy[],
  pointsPerMajorUnit: number,
): PricedReceipt {
  const lines: ReceiptLine[] = [];
  const unpriced: string[] = [];
  for (const item of cart) {
    const price = prices.get(item.sku);
    if (!price) {
      unpriced.push(item.sku);
      continue;
    }
    const byWeight = price.soldBy === 'weight';
    const amount = byWeight
      ? Math.round((price.priceMinor * item.grams) / 1000)
      : price.priceMinor * item.quantity;
    // The best single multibuy for the line; promotions do not stack.
    let discount = 0;
    let promotion: string | null = null;
    for (const p of byWeight ? [] : promotions.filter((x) => x.sku === item.sku)) {
      const bundles = Math.floor(item.quantity / p.buyQty);
      const saved = bundles * (p.buyQty * price.priceMinor - p.bundleMinor);
      if (saved > discount) {
        discount = saved;
        promotion = p.name;
      }
    }
    lines.push({
      lineNo: lines.length + 1,
      sku: item.sku,
      name: price.name,
      quantity: item.quantity,
      grams: byWeight ? Math.round(item.grams) : null,
      unitPriceMinor: price.priceMinor,
      amountMinor: amount,
      discountMinor: discount,
      promotion,
      confidence: item.confidence,
      evidence: item.evidence,
    });
  }
  const subtotal = lines.reduce((s, l) => s + l.amountMinor, 0);
  const discount = lines.reduce((s, l) => s + l.discountMinor, 0);
  const total = subtotal - discount;
  return {
    lines,
    subtotalMinor: subtotal,
    discountMinor: discount,
    totalMinor: total,
    pointsEarned: Math.floor(total / 100) * pointsPerMajorUnit,
    unpriced,
  };
}

/** Where the money comes from: the hold covers what it can, a separate charge the rest. */
export type MoneyPlan =
  | { kind: 'release' }
  | { kind: 'capture'; captureMinor: number }
  | { kind: 'capture-and-charge'; captureMinor: number; chargeMinor: number };

export function planMoney(totalMinor: number, heldMinor: number): MoneyPlan {
  if (totalMinor === 0) return { kind: 'release' };
  if (totalMinor <= heldMinor) return { kind: 'capture', captureMinor: totalMinor };
  return { kind: 'capture-and-charge', captureMinor: heldMinor, chargeMinor: totalMinor - heldMinor };
}
