/**
 * The workload: `lanes` edges of one store, each running visits one after another through its own
 * gate. A visit: a shopper's code scanned at the gate, a few takes and put-backs reported on the
 * edge link, the close. An edge serves a shift of a few visits, waits until the cloud has
 * acknowledged all of it and then goes quiet for good (a store closing for the night), and a new
 * edge takes the lane over: a close stored just before a kill and never acknowledged is then
 * followed by nothing, which is when it must still be settled.
 */
import type { Db } from '../../cloud/db/pool.ts';
import { createDevice } from '../../cloud/stores/devices.ts';
import type { CloudChild } from './cloud-child.ts';
import { type AckStall, type Edge, openEdge } from './edge.ts';
import { enter, type GateStats, type Shopper } from './gate.ts';
import type { EdgeRecord } from './invariants.ts';
import { between, type KillOptions, sleep } from './options.ts';

export interface Workload {
  stats: GateStats;
  sent: EdgeRecord[];
  stalls: AckStall[];
  ackRegressions: number;
  rejected: Array<{ device: string; seq: number; code: string; reason: string }>;
  /** Visits the gates opened for the harness, and those the edges closed. */
  opened: number;
  closed: number;
  /** Streams dropped on purpose while the cloud was up. */
  blips: number;
  shifts: number;
  edges: Edge[];
  /** Reports sent and not yet acknowledged, over all edges. */
  unacked(): number;
}

const MAX_ITEMS = 4;
/** Pauses within a visit, so kills land between its reports as well as on them. */
const STEP_MS = [0, 120] as const;
/** A blip comes this long after a report: long enough to reach the cloud, not to be stored yet. */
const BLIP_AFTER_MS = [0, 3] as const;
/** Past the open-visit timeout, before a shopper who walked away comes back. */
const WALK_AWAY_MARGIN_MS = 5_000;
const SHIFT_VISITS = [1, 6] as const;
/** How long an edge at the end of its shift waits for its last ack before going quiet anyway. */
const SHIFT_SETTLE_MS = 60_000;

export function runLanes(opts: {
  cloud: CloudChild;
  db: Db;
  storeId: string;
  gate: { auth: string };
  shoppers: Shopper[];
  skus: string[];
  options: KillOptions;
  rand: () => number;
  stats: GateStats;
  running: () => boolean;
}): { workload: Workload; done: Promise<void> } {
  const { cloud, options, rand } = opts;
  const free = [...opts.shoppers];
  const w: Workload = {
    stats: opts.stats,
    sent: [],
    stalls: [],
    ackRegressions: 0,
    rejected: [],
    opened: 0,
    closed: 0,
    blips: 0,
    shifts: 0,
    edges: [],
    unacked: () => w.edges.reduce((s, e) => s + (e.lastSent - e.acked), 0),
  };

  const newEdge = async (): Promise<Edge> => {
    const d = await createDevice(opts.db, opts.storeId, 'edge');
    const edge = openEdge({
      address: cloud.grpcAddress,
      device: d.id,
      secret: d.secret,
      ackStallMs: options.ackStallMs,
      cloudUpSince: () => cloud.upSince,
      onStall: (s) => w.stalls.push(s),
      onRejected: (seq, code, reason) => w.rejected.push({ device: d.id, seq, code, reason }),
      onAckRegression: () => {
        w.ackRegressions += 1;
      },
      sent: w.sent,
    });
    w.edges.push(edge);
    return edge;
  };

  const visit = async (edge: Edge, gate: { id: string; auth: string }) => {
    const shopper = free.shift();
    if (!shopper) return sleep(50);
    // The shopper may come back once the close is stored: the cloud lets one in at a time.
    let back: Promise<void> = Promise.resolve();
    try {
      const drop = () => {
        if (rand() >= options.lostAnswerRate) return 'keep' as const;
        return rand() < options.walkAwayShare ? ('walk away' as const) : ('retry' as const);
      };
      const walked = w.stats.walkedAway;
      const visitId = await enter(cloud, gate, shopper, drop, w.stats);
      // One who walked away may have left a visit open in the cloud's books until it expires.
      if (w.stats.walkedAway > walked) back = sleep(options.openVisitTimeoutS * 1000 + WALK_AWAY_MARGIN_MS);
      if (!visitId) return;
      w.opened += 1;
      const member = (kind: 'MEMBER_ENTERED' | 'MEMBER_EXITED') =>
        edge.report({ visit: { visitId, kind, memberNo: 0 } }, { body: 'member', visitId });
      const cart = (sku: string, quantity: number, clip: string) =>
        edge.report(
          { cart: { visitId, memberNo: 0, sku, quantity, confidence: 0.97, evidence: [clip], grams: 0 } },
          { body: 'cart', visitId, sku, quantity },
        );
      // A blip just after a report, while the old stream may still be storing it.
      const items = between(rand, 0, MAX_ITEMS);
      const blipAt = rand() < options.blipRate ? between(rand, 0, items) : -1;
      const blipHere = (k: number) => {
        if (k !== blipAt) return;
        w.blips += 1;
        setTimeout(() => edge.blip(), between(rand, ...BLIP_AFTER_MS));
      };
      if (blipAt >= 0) await edge.prepareBlip();
      member('MEMBER_ENTERED');
      for (let k = 0; k < items; k++) {
        await sleep(between(rand, ...STEP_MS));
        const sku = opts.skus[between(rand, 0, opts.skus.length - 1)]!;
        cart(sku, between(rand, 1, 3), `clip-${visitId}-${k}`);
        // Now and then the shopper puts one back.
        if (rand() < 0.2) cart(sku, -1, `clip-${visitId}-${k}b`);
        blipHere(k);
      }
      await sleep(between(rand, ...STEP_MS));
      member('MEMBER_EXITED');
      const closed = edge.report(
        { visit: { visitId, kind: 'VISIT_CLOSED', memberNo: 0 } },
        { body: 'close', visitId },
      );
      blipHere(items);
      w.closed += 1;
      back = edge.acknowledged(closed);
    } finally {
      void back.then(() => free.push(shopper));
    }
  };

  const lane = async (n: number) => {
    const gate = { id: `gate-${n}`, auth: opts.gate.auth };
    while (opts.running()) {
      const edge = await newEdge();
      w.shifts += 1;
      const shift = between(rand, ...SHIFT_VISITS);
      for (let v = 0; v < shift && opts.running(); v++) await visit(edge, gate);
      if (!(await edge.settled(SHIFT_SETTLE_MS)))
        w.stalls.push({
          device: edge.device,
          at: Date.now(),
          acked: edge.acked,
          lastSent: edge.lastSent,
          phase: 'final',
        });
      edge.close();
    }
  };

  return {
    workload: w,
    done: Promise.all(Array.from({ length: options.lanes }, (_, n) => lane(n))).then(() => {}),
  };
}
