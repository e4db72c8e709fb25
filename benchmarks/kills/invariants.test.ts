import { describe, expect, it } from 'vitest';
import { checkInvariants, type EdgeFacts, type Rows, RULES } from './invariants.ts';

/**
 * A small world as a good run leaves it: visit A (two takes, one put back, captured from its
 * hold), visit B (empty cart, hold released), visit C (beyond its hold: captured plus a charge).
 * Each case below breaks it the way one of the bugs would, and only that rule may notice.
 */
const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';
const ALICE = '00000000-0000-4000-8000-0000000000a1';
const BOB = '00000000-0000-4000-8000-0000000000b0';

function world(): { rows: Rows; edges: EdgeFacts } {
  return {
    rows: {
      visits: [
        { id: A, status: 'settled', entry: 'gate' },
        { id: B, status: 'settled', entry: 'gate' },
        { id: C, status: 'settled', entry: 'gate' },
      ],
      holds: [
        { visitId: A, amountMinor: 5000, capturedMinor: 700, refundedMinor: 0, released: false },
        { visitId: B, amountMinor: 5000, capturedMinor: 0, refundedMinor: 0, released: true },
        { visitId: C, amountMinor: 5000, capturedMinor: 5000, refundedMinor: 0, released: false },
      ],
      charges: [{ visitId: C, capturedMinor: 1200, refundedMinor: 0 }],
      receipts: [
        {
          visitId: A,
          shopperId: ALICE,
          status: 'issued',
          totalMinor: 700,
          amountDueMinor: 0,
          pointsEarned: 7,
        },
        { visitId: B, shopperId: BOB, status: 'issued', totalMinor: 0, amountDueMinor: 0, pointsEarned: 0 },
        {
          visitId: C,
          shopperId: ALICE,
          status: 'issued',
          totalMinor: 6200,
          amountDueMinor: 0,
          pointsEarned: 62,
        },
      ],
      receiptLines: [
        { visitId: A, sku: 'milk', quantity: 1 },
        { visitId: A, sku: 'bread', quantity: 1 },
        { visitId: C, sku: 'wine', quantity: 2 },
      ],
      issues: [
        { visitId: A, count: 1 },
        { visitId: B, count: 1 },
        { visitId: C, count: 1 },
      ],
      loyalty: [
        { shopperId: ALICE, points: 69 },
        { shopperId: BOB, points: 0 },
      ],
      openDecisions: [
        { visitId: A, count: 1 },
        { visitId: B, count: 1 },
        { visitId: C, count: 1 },
      ],
      cartEvents: [
        { device: 'e1', seq: 1, count: 1 },
        { device: 'e1', seq: 2, count: 1 },
        { device: 'e1', seq: 3, count: 1 },
        { device: 'e2', seq: 1, count: 1 },
      ],
      rejections: [],
    },
    edges: {
      sent: [
        { device: 'e1', seq: 1, body: 'cart', visitId: A, sku: 'milk', quantity: 2 },
        { device: 'e1', seq: 2, body: 'cart', visitId: A, sku: 'milk', quantity: -1 },
        { device: 'e1', seq: 3, body: 'cart', visitId: A, sku: 'bread', quantity: 1 },
        { device: 'e1', seq: 4, body: 'close', visitId: A },
        { device: 'e1', seq: 5, body: 'close', visitId: B },
        { device: 'e2', seq: 1, body: 'cart', visitId: C, sku: 'wine', quantity: 2 },
        { device: 'e2', seq: 2, body: 'close', visitId: C },
      ],
      ackStalls: [],
      ackRegressions: 0,
    },
  };
}

/** A gate visit D of the given status whose hold the provider still holds. */
function heldVisit(w: { rows: Rows; edges: EdgeFacts }, status: Rows['visits'][number]['status']): void {
  const D = '00000000-0000-4000-8000-00000000000d';
  w.rows.visits.push({ id: D, status, entry: 'gate' });
  w.rows.holds.push({ visitId: D, amountMinor: 5000, capturedMinor: 0, refundedMinor: 0, released: false });
  w.rows.openDecisions.push({ visitId: D, count: 1 });
}

const broken = (w: { rows: Rows; edges: EdgeFacts }) => {
  const v = checkInvariants(w.rows, w.edges);
  return Object.fromEntries(RULES.filter((r) => v[r] > 0).map((r) => [r, v[r]]));
};

describe('the kill test’s invariants', () => {
  it('hold for a run that kept them', () => {
    expect(broken(world())).toEqual({});
  });

  const cases: Array<[string, (w: { rows: Rows; edges: EdgeFacts }) => void, Record<string, number>]> = [
    [
      'a close stored but never settled (the resume point not saved before the kill)',
      (w) => {
        w.rows.visits[0]!.status = 'closed';
        w.rows.receipts = w.rows.receipts.filter((r) => r.visitId !== A);
        w.rows.receiptLines = w.rows.receiptLines.filter((l) => l.visitId !== A);
        w.rows.issues = w.rows.issues.filter((i) => i.visitId !== A);
        w.rows.holds[0]!.capturedMinor = 0;
        w.rows.loyalty[0]!.points = 62;
      },
      { unsettled: 1 },
    ],
    [
      'a close the edge sent whose visit is still open',
      (w) => {
        w.rows.visits[1]!.status = 'open';
        w.rows.holds[1]!.released = false;
        w.rows.receipts = w.rows.receipts.filter((r) => r.visitId !== B);
        w.rows.issues = w.rows.issues.filter((i) => i.visitId !== B);
      },
      { unsettled: 1, openWithHold: 1 },
    ],
    [
      'the hold captured and the total charged again',
      (w) => {
        w.rows.charges.push({ visitId: A, capturedMinor: 700, refundedMinor: 0 });
      },
      { doubleCaptures: 1 },
    ],
    [
      'a receipt marked paid that the provider never took',
      (w) => {
        w.rows.holds[0]!.capturedMinor = 0;
        w.rows.holds[0]!.released = true;
      },
      { underCharges: 1 },
    ],
    [
      'a visit left open behind a lost gate answer, its hold held',
      (w) => heldVisit(w, 'open'),
      { openWithHold: 1 },
    ],
    [
      'a settled visit whose hold was never released',
      (w) => {
        w.rows.holds[1]!.released = false;
      },
      { holdsLeft: 1 },
    ],
    ['a visit that expired with its hold kept', (w) => heldVisit(w, 'expired'), { holdsLeft: 1 }],
    [
      'a receipt issued twice',
      (w) => {
        w.rows.issues[2]!.count = 2;
      },
      { doubleReceipts: 1 },
    ],
    [
      'points awarded twice',
      (w) => {
        w.rows.loyalty[0]!.points = 69 + 7;
      },
      { doubleAwards: 1 },
    ],
    [
      'points never awarded',
      (w) => {
        w.rows.loyalty[0]!.points = 62;
      },
      { lostAwards: 1 },
    ],
    [
      'a cart event lost (its receipt short of it too)',
      (w) => {
        w.rows.cartEvents = w.rows.cartEvents.filter((c) => !(c.device === 'e1' && c.seq === 3));
        w.rows.receiptLines = w.rows.receiptLines.filter((l) => l.sku !== 'bread');
      },
      { lostCartEvents: 1, receiptCartMismatches: 1 },
    ],
    [
      'a cart event stored twice',
      (w) => {
        w.rows.cartEvents[3]!.count = 2;
      },
      { doubledCartEvents: 1 },
    ],
    [
      'a receipt priced before a put-back arrived',
      (w) => {
        w.rows.receiptLines[0]!.quantity = 2;
      },
      { receiptCartMismatches: 1 },
    ],
    [
      'a gate decision row lost between the hold’s answer and its write',
      (w) => {
        w.rows.openDecisions = w.rows.openDecisions.filter((d) => d.visitId !== C);
      },
      { missingGateDecisions: 1 },
    ],
    [
      'a valid report refused',
      (w) => {
        w.rows.rejections.push({ device: 'e1', seq: 5, code: 'VISIT_UNKNOWN' });
      },
      { rejectedReports: 1 },
    ],
    [
      'acks frozen after a reconnect',
      (w) => {
        w.edges.ackStalls.push({ device: 'e2', phase: 'run' });
      },
      { ackStalls: 1 },
    ],
    [
      'a Welcome behind an ack already heard',
      (w) => {
        w.edges.ackRegressions = 1;
      },
      { ackRegressions: 1 },
    ],
  ];
  for (const [name, breakIt, expected] of cases) {
    it(`catch ${name}`, () => {
      const w = world();
      breakIt(w);
      expect(broken(w)).toEqual(expected);
    });
  }

  it('name the visits they catch', () => {
    const w = world();
    w.rows.openDecisions = [];
    const v = checkInvariants(w.rows, w.edges);
    expect(v.examples.missingGateDecisions).toEqual([A, B, C]);
  });
});
