/**
 * One cart per visit member: the lines the edge believes each member holds. Pure bookkeeping: a
 * change adds to or takes from one member's line for a product; a put-back takes from the member
 * who put it back, whichever plate it went to (a hand-off inside a party nets out on the visit).
 */
import type { VisitCart } from '../stages.ts';
import { fieldsOf, restoreFields, type Stateful } from '../state/fields.ts';
import type { CartLine } from '../types.ts';

export interface CartChange {
  visitId: string;
  memberNo: number;
  sku: string;
  /** Positive: taken; negative: put back. */
  quantity: number;
  /** Items sold by weight: grams taken (positive) or put back (negative); 0 otherwise. */
  grams: number;
  confidence: number;
  evidence: string[];
  /** Someone should look at it (a near tie, an item no hypothesis explains). */
  review: boolean;
}

interface Held {
  lines: Map<string, CartLine>;
  inside: boolean;
}

export class Carts implements Stateful {
  private readonly visits = new Map<string, { members: Map<number, Held>; review: boolean }>();

  state(): unknown {
    return fieldsOf(this, []);
  }

  restore(state: unknown): void {
    restoreFields(this, state, [], 'carts');
  }

  open(visitId: string, memberNo: number): void {
    const v = this.visit(visitId);
    if (!v.members.has(memberNo)) v.members.set(memberNo, { lines: new Map(), inside: true });
    else v.members.get(memberNo)!.inside = true;
  }

  leave(visitId: string, memberNo: number): void {
    const m = this.visits.get(visitId)?.members.get(memberNo);
    if (m) m.inside = false;
  }

  apply(c: CartChange): void {
    const v = this.visit(c.visitId);
    this.open(c.visitId, c.memberNo);
    const held = v.members.get(c.memberNo)!;
    const line = held.lines.get(c.sku) ?? { sku: c.sku, quantity: 0, grams: 0, confidence: 1, evidence: [] };
    line.quantity += c.quantity;
    line.grams += c.grams;
    line.confidence = Math.min(line.confidence, c.confidence);
    line.evidence.push(...c.evidence);
    if (line.quantity === 0) held.lines.delete(c.sku);
    else held.lines.set(c.sku, line);
    if (c.review) v.review = true;
  }

  /** How many of `sku` the visit holds, over all its members (what a put-back can return). */
  heldByVisit(visitId: string, sku: string): number {
    let n = 0;
    for (const m of this.visits.get(visitId)?.members.values() ?? []) n += m.lines.get(sku)?.quantity ?? 0;
    return n;
  }

  /** Products the visit holds (positive net quantity or grams), the candidates of its put-backs. */
  /** Visits with a cart (open, or closing and not yet forgotten). */
  visitIds(): string[] {
    return [...this.visits.keys()];
  }

  skusOf(visitId: string): string[] {
    const net = new Map<string, number>();
    for (const m of this.visits.get(visitId)?.members.values() ?? []) {
      for (const l of m.lines.values()) net.set(l.sku, (net.get(l.sku) ?? 0) + l.quantity + l.grams);
    }
    return [...net].filter(([, n]) => n > 0).map(([sku]) => sku);
  }

  cart(visitId: string): VisitCart {
    const v = this.visits.get(visitId);
    const members = [...(v?.members ?? new Map<number, Held>())]
      .sort(([a], [b]) => a - b)
      .map(([memberNo, m]) => ({
        memberNo,
        inside: m.inside,
        lines: [...m.lines.values()].map((l) => ({ ...l })),
      }));
    return { visitId, members, needsReview: v?.review ?? false };
  }

  forget(visitId: string): void {
    this.visits.delete(visitId);
  }

  private visit(visitId: string) {
    let v = this.visits.get(visitId);
    if (!v) {
      v = { members: new Map(), review: false };
      this.visits.set(visitId, v);
    }
    return v;
  }
}
