/**
 * What must hold after any number of kills, decided from rows: the cloud's tables, the sandbox
 * provider's own books (which a crash of the cloud does not touch, as a real provider's would
 * not be), and what the edges sent and heard. Pure, so each rule is tested on rows that break it
 * (invariants.test.ts); queries.ts reads the rows.
 */

export interface VisitRow {
  id: string;
  /** `expired`: an open visit nothing reported on, ended by the cloud after OPEN_VISIT_TIMEOUT_MIN. */
  status: 'open' | 'closed' | 'settled' | 'cancelled' | 'expired';
  entry: 'gate' | 'offline';
}

/** A hold at the provider, found through the key `hold:<visit>` the cloud asked under. */
export interface ProviderHoldRow {
  visitId: string;
  amountMinor: number;
  capturedMinor: number;
  refundedMinor: number;
  released: boolean;
}

/** A charge at the provider, found through the key `charge:<visit>`. */
export interface ProviderChargeRow {
  visitId: string;
  capturedMinor: number;
  refundedMinor: number;
}

export interface ReceiptRow {
  visitId: string;
  shopperId: string;
  status: 'review' | 'priced' | 'issued';
  totalMinor: number;
  amountDueMinor: number;
  pointsEarned: number;
}

export interface ReceiptLineRow {
  visitId: string;
  sku: string;
  quantity: number;
}

export interface Rows {
  visits: VisitRow[];
  holds: ProviderHoldRow[];
  charges: ProviderChargeRow[];
  receipts: ReceiptRow[];
  receiptLines: ReceiptLineRow[];
  /** 'receipt.issued' entries of the audit log, one per issue, by visit. */
  issues: Array<{ visitId: string; count: number }>;
  loyalty: Array<{ shopperId: string; points: number }>;
  /** Gate decisions that opened, by the visit they opened. */
  openDecisions: Array<{ visitId: string; count: number }>;
  /** cart_events rows, by the report that carried them. */
  cartEvents: Array<{ device: string; seq: number; count: number }>;
  rejections: Array<{ device: string; seq: number; code: string }>;
}

/** One report an edge sent, as the harness remembers it. */
export interface EdgeRecord {
  device: string;
  seq: number;
  /** A cart event, VISIT_CLOSED, or MEMBER_ENTERED / MEMBER_EXITED. */
  body: 'cart' | 'close' | 'member';
  visitId: string;
  sku?: string;
  quantity?: number;
}

/** What the edges did and heard, kept by the harness. */
export interface EdgeFacts {
  /** Every report sent, with its (device, seq). */
  sent: EdgeRecord[];
  ackStalls: Array<{ device: string; phase: 'run' | 'final' }>;
  ackRegressions: number;
}

export interface Verdict {
  /** Visits the edge closed that have no issued receipt. */
  unsettled: number;
  /** Issued receipts for which the provider took more than the receipt says was paid. */
  doubleCaptures: number;
  /** Issued receipts for which the provider took less than the receipt says was paid. */
  underCharges: number;
  /** Visits still open whose hold the provider still holds. */
  openWithHold: number;
  /** Visits that ended (settled, cancelled, expired) whose hold is neither captured nor released. */
  holdsLeft: number;
  /** Visits with more than one receipt, or a receipt issued more than once. */
  doubleReceipts: number;
  /** Shoppers whose points exceed (double award) or fall short of (lost award) their receipts'. */
  doubleAwards: number;
  lostAwards: number;
  /** Cart reports sent with no row in cart_events (and not refused), or with more than one. */
  lostCartEvents: number;
  doubledCartEvents: number;
  /** Issued receipts whose lines are not the net of the cart reports the edge sent. */
  receiptCartMismatches: number;
  /** Visits entered by the gate without the gate decision that opened them. */
  missingGateDecisions: number;
  /** Reports of the harness the cloud refused (all of them are valid). */
  rejectedReports: number;
  ackStalls: number;
  /** A Welcome below an ack the edge had already heard: the cloud forgot what it acknowledged. */
  ackRegressions: number;
  /** A few visit ids or devices per rule, to start looking from. */
  examples: Record<string, string[]>;
}

const EXAMPLES = 5;
const key = (device: string, seq: number) => `${device}#${seq}`;

export function checkInvariants(rows: Rows, edges: EdgeFacts): Verdict {
  const examples: Record<string, string[]> = {};
  const note = (rule: string, what: string) => {
    const list = examples[rule] ?? [];
    if (list.length < EXAMPLES) list.push(what);
    examples[rule] = list;
  };
  const count = <T>(rule: string, items: T[], name: (t: T) => string) => {
    for (const t of items) note(rule, name(t));
    return items.length;
  };

  const visitById = new Map(rows.visits.map((v) => [v.id, v]));
  const receiptsByVisit = group(rows.receipts, (r) => r.visitId);
  const issued = new Map(
    rows.receipts.filter((r) => r.status === 'issued').map((r) => [r.visitId, r] as const),
  );
  const holdByVisit = new Map(rows.holds.map((h) => [h.visitId, h]));
  const chargesByVisit = group(rows.charges, (c) => c.visitId);
  const live = (h: ProviderHoldRow | undefined) => !!h && h.capturedMinor === 0 && !h.released;

  // Closed by the edge: a VISIT_CLOSED was sent (and, once acked, stored); or the table says so.
  const closedByEdge = new Set(edges.sent.filter((m) => m.body === 'close').map((m) => m.visitId));
  for (const v of rows.visits) if (v.status === 'closed') closedByEdge.add(v.id);
  const unsettled = count(
    'unsettled',
    [...closedByEdge].filter((id) => visitById.get(id)?.status !== 'settled' || !issued.has(id)),
    (id) => `${id} (${visitById.get(id)?.status ?? 'no visit'})`,
  );

  const taken = (visitId: string) => {
    const h = holdByVisit.get(visitId);
    const fromHold = h ? h.capturedMinor - h.refundedMinor : 0;
    const fromCharges = (chargesByVisit.get(visitId) ?? []).reduce(
      (s, c) => s + c.capturedMinor - c.refundedMinor,
      0,
    );
    return fromHold + fromCharges;
  };
  const paid = [...issued.values()].map((r) => ({
    r,
    took: taken(r.visitId),
    owed: r.totalMinor - r.amountDueMinor,
  }));
  const doubleCaptures = count(
    'doubleCaptures',
    paid.filter((p) => p.took > p.owed),
    (p) => `${p.r.visitId} took ${p.took}, receipt paid ${p.owed}`,
  );
  const underCharges = count(
    'underCharges',
    paid.filter((p) => p.took < p.owed),
    (p) => `${p.r.visitId} took ${p.took}, receipt paid ${p.owed}`,
  );

  const openWithHold = count(
    'openWithHold',
    rows.visits.filter((v) => v.status === 'open' && live(holdByVisit.get(v.id))),
    (v) => v.id,
  );
  const holdsLeft = count(
    'holdsLeft',
    rows.visits.filter((v) => v.status !== 'open' && v.status !== 'closed' && live(holdByVisit.get(v.id))),
    (v) => `${v.id} (${v.status})`,
  );

  const issueCount = new Map(rows.issues.map((i) => [i.visitId, i.count]));
  const doubleReceipts = count(
    'doubleReceipts',
    [...new Set([...receiptsByVisit.keys(), ...issueCount.keys()])].filter(
      (id) => (receiptsByVisit.get(id)?.length ?? 0) > 1 || (issueCount.get(id) ?? 0) > 1,
    ),
    (id) => id,
  );

  const earned = new Map<string, number>();
  for (const r of issued.values()) earned.set(r.shopperId, (earned.get(r.shopperId) ?? 0) + r.pointsEarned);
  const awards = rows.loyalty.map((l) => ({ ...l, earned: earned.get(l.shopperId) ?? 0 }));
  const doubleAwards = count(
    'doubleAwards',
    awards.filter((a) => a.points > a.earned),
    (a) => `${a.shopperId} has ${a.points}, receipts earned ${a.earned}`,
  );
  const lostAwards = count(
    'lostAwards',
    awards.filter((a) => a.points < a.earned),
    (a) => `${a.shopperId} has ${a.points}, receipts earned ${a.earned}`,
  );

  const stored = new Map(rows.cartEvents.map((c) => [key(c.device, c.seq), c.count]));
  const refused = new Set(rows.rejections.map((r) => key(r.device, r.seq)));
  const cartSent = edges.sent.filter((m) => m.body === 'cart');
  const lostCartEvents = count(
    'lostCartEvents',
    cartSent.filter((m) => !stored.has(key(m.device, m.seq)) && !refused.has(key(m.device, m.seq))),
    (m) => `${m.device} seq ${m.seq} (visit ${m.visitId})`,
  );
  const sentKeys = new Set(cartSent.map((m) => key(m.device, m.seq)));
  const doubledCartEvents = count(
    'doubledCartEvents',
    rows.cartEvents.filter((c) => c.count > 1 || !sentKeys.has(key(c.device, c.seq))),
    (c) =>
      `${c.device} seq ${c.seq} stored ${c.count}×${sentKeys.has(key(c.device, c.seq)) ? '' : ', never sent'}`,
  );

  const expected = new Map<string, Map<string, number>>();
  for (const m of cartSent) {
    const cart = expected.get(m.visitId) ?? new Map<string, number>();
    cart.set(m.sku!, (cart.get(m.sku!) ?? 0) + (m.quantity ?? 0));
    expected.set(m.visitId, cart);
  }
  const lines = group(rows.receiptLines, (l) => l.visitId);
  const receiptCartMismatches = count(
    'receiptCartMismatches',
    [...issued.keys()].filter((id) => {
      const want = [...(expected.get(id) ?? new Map<string, number>())].filter(([, q]) => q > 0);
      const got = new Map((lines.get(id) ?? []).map((l) => [l.sku, l.quantity]));
      return want.length !== got.size || want.some(([sku, q]) => got.get(sku) !== q);
    }),
    (id) => id,
  );

  const decided = new Set(rows.openDecisions.filter((d) => d.count > 0).map((d) => d.visitId));
  const missingGateDecisions = count(
    'missingGateDecisions',
    rows.visits.filter((v) => v.entry === 'gate' && !decided.has(v.id)),
    (v) => v.id,
  );

  const ours = new Set(edges.sent.map((m) => key(m.device, m.seq)));
  const rejectedReports = count(
    'rejectedReports',
    rows.rejections.filter((r) => ours.has(key(r.device, r.seq))),
    (r) => `${r.device} seq ${r.seq}: ${r.code}`,
  );
  const ackStalls = count('ackStalls', edges.ackStalls, (s) => `${s.device} (${s.phase})`);

  return {
    unsettled,
    doubleCaptures,
    underCharges,
    openWithHold,
    holdsLeft,
    doubleReceipts,
    doubleAwards,
    lostAwards,
    lostCartEvents,
    doubledCartEvents,
    receiptCartMismatches,
    missingGateDecisions,
    rejectedReports,
    ackStalls,
    ackRegressions: edges.ackRegressions,
    examples,
  };
}

/** The rules' names, each of which must be 0 for the run to pass. */
export const RULES = [
  'unsettled',
  'doubleCaptures',
  'underCharges',
  'openWithHold',
  'holdsLeft',
  'doubleReceipts',
  'doubleAwards',
  'lostAwards',
  'lostCartEvents',
  'doubledCartEvents',
  'receiptCartMismatches',
  'missingGateDecisions',
  'rejectedReports',
  'ackStalls',
  'ackRegressions',
] as const satisfies readonly (keyof Verdict)[];

function group<T>(items: readonly T[], by: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of items) {
    const k = by(t);
    const list = out.get(k);
    if (list) list.push(t);
    else out.set(k, [t]);
  }
  return out;
}
