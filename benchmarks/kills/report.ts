/** kills.json: the counts, what each means, and how the run went. */
import type { Rows, Verdict } from './invariants.ts';
import type { Workload } from './lanes.ts';
import type { KillOptions } from './options.ts';

/** Each count of kills.json in words; all but kills and visits must be 0. */
export const DEFINITIONS: Record<string, string> = {
  kills:
    'SIGKILLs of the cloud process, each at a random moment (seeded) while the lanes admit and close visits',
  visits: 'rows of visits: every visit a gate opened, including those whose answer the gate lost',
  unsettled:
    'visits an edge closed (VISIT_CLOSED sent, or the row says closed) without an issued receipt after the quiet period',
  doubleCaptures:
    "issued receipts for which the provider's books (hold captured + charges − refunds, under the keys hold:/charge:<visit>) hold more than the receipt's total − amount due",
  underCharges:
    "issued receipts for which the provider's books hold less than the receipt's total − amount due",
  openWithHold:
    'visits still open after the quiet period whose hold the provider holds (neither captured nor released)',
  holdsLeft: 'visits settled or cancelled whose hold the provider still holds',
  doubleReceipts: "visits with more than one receipt row, or more than one 'receipt.issued' in the audit log",
  doubleAwards: "shoppers whose loyalty points exceed the sum of their issued receipts' points",
  lostAwards: "shoppers whose loyalty points fall short of the sum of their issued receipts' points",
  lostCartEvents:
    'cart reports an edge sent with no cart_events row for their (device, seq) and no rejection',
  doubledCartEvents:
    'cart_events rows stored more than once for one (device, seq), or for a report never sent',
  receiptCartMismatches:
    'issued receipts whose lines are not, SKU by SKU, the net of the cart reports the edge sent',
  missingGateDecisions: 'visits entered by the gate with no gate_decisions row that opened them',
  rejectedReports: "the harness's reports that the cloud refused (edge_rejections); all of them are valid",
  ackStalls:
    "episodes in which an edge with reports beyond its last ack, on a stream the cloud had welcomed, while the cloud process was up, heard no ack advance for ackStallMs (counted, then the edge reconnects); plus edges whose ack never reached their last seq within 60 s at the end of their shift ('final')",
  ackRegressions: 'Welcomes whose acked_seq was below an ack the edge had already heard',
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

export function summarise(r: {
  o: KillOptions;
  env: Record<string, string>;
  kills: number;
  rows: Rows;
  verdict: Verdict;
  workload: Workload;
  restartMs: number[];
  warnings: number;
  quiet: { seconds: number; endedBy: string };
  wallSeconds: number;
  machine: Record<string, unknown>;
  definitions: Record<string, string>;
}) {
  const { verdict: v, workload: w, rows } = r;
  const { examples, ...counts } = v;
  const byStatus: Record<string, number> = {};
  for (const x of rows.visits) byStatus[x.status] = (byStatus[x.status] ?? 0) + 1;
  return {
    benchmark: 'kills',
    date: new Date().toISOString(),
    command: `npm run bench:kills -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: r.machine,
    kills: r.kills,
    visits: rows.visits.length,
    ...counts,
    passed: Object.values(counts).every((n) => n === 0),
    receiptsIssued: rows.receipts.filter((x) => x.status === 'issued').length,
    visitsByStatus: byStatus,
    options: { ...r.o, out: undefined },
    cloudEnv: r.env,
    gate: w.stats,
    edges: {
      devices: w.edges.length,
      shifts: w.shifts,
      reports: w.sent.length,
      closes: w.closed,
      blips: w.blips,
      rejected: w.rejected.slice(0, 5),
      stalls: w.stalls.slice(0, 10),
    },
    cloud: {
      startMs: { p50: pct(r.restartMs, 50), p90: pct(r.restartMs, 90), max: Math.max(...r.restartMs) },
      warningsLogged: r.warnings,
    },
    quiet: r.quiet,
    wallSeconds: r.wallSeconds,
    examples,
    definitions: r.definitions,
  };
}
