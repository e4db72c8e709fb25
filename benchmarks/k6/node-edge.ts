/**
 * The edge load of benchmarks/k6/edge.js driven from Node with @grpc/grpc-js instead of k6, for
 * when k6's JavaScript cannot write fast enough: the same devices-as-streams, the same contiguous
 * seqs and cart events, the same result record. Unlike k6's Stream.write(), a grpc-js write says
 * when its buffer is full; the driver then waits for 'drain' and catches up on the schedule, as an
 * edge that buffers its reports would.
 */
import * as grpc from '@grpc/grpc-js';
import { loadEdgeLink } from '../../proto/grpc/edge-link.ts';

export interface EdgeSpec {
  id: string;
  /** `Basic base64(id:secret)`. */
  auth: string;
  visits: string[];
  skus: string[];
}

/** What one edge did, in the shape edge.js prints after `EDGE_RESULT `. */
export interface EdgeResult {
  device: string;
  why: string;
  base: number;
  target: number;
  sent: number;
  acked: number;
  rejected: number;
  errors: number;
  /** Epoch ms: the first write, the last write, the ack of the last event. */
  t0: number;
  tLastWrite: number;
  tLastAck: number;
  /** Per tick: ms from writing the tick's events until an ack covered them. */
  latencies: number[];
  /** [epoch ms, events acknowledged], at most every 200 ms. */
  timeline: Array<[number, number]>;
}

interface Incoming {
  welcome?: { ackedSeq: number } | null;
  ack?: { seq: number } | null;
  rejected?: { seq: number; code: string } | null;
}

const TICK_MS = 10;

export function runNodeEdges(opts: {
  address: string;
  edges: readonly EdgeSpec[];
  rate: number;
  seconds: number;
  drainSeconds?: number;
}): Promise<EdgeResult[]> {
  const EdgeLink = loadEdgeLink();
  const perEdge = opts.rate / opts.edges.length;
  const drainMs = (opts.drainSeconds ?? 30) * 1000;
  return Promise.all(
    opts.edges.map(
      (edge) =>
        new Promise<EdgeResult>((resolve) => {
          // A connection of its own per edge, as separate edge nodes would have.
          const client = new EdgeLink(opts.address, grpc.credentials.createInsecure(), {
            'grpc.use_local_subchannel_pool': 1,
          });
          const md = new grpc.Metadata();
          md.set('authorization', edge.auth);
          const call = (
            client as unknown as { connect(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, Incoming> }
          ).connect(md);
          const total = Math.round(perEdge * opts.seconds);
          const r: EdgeResult = {
            device: edge.id,
            why: '',
            base: -1,
            target: total,
            sent: 0,
            acked: 0,
            rejected: 0,
            errors: 0,
            t0: 0,
            tLastWrite: 0,
            tLastAck: 0,
            latencies: [],
            timeline: [],
          };
          const pending: Array<[number, number]> = [];
          let head = 0;
          let blocked = false;
          let interval: NodeJS.Timeout | null = null;
          let drainTimer: NodeJS.Timeout | null = null;
          let done = false;

          const finish = (why: string) => {
            if (done) return;
            done = true;
            r.why = why;
            if (interval) clearInterval(interval);
            if (drainTimer) clearTimeout(drainTimer);
            call.cancel();
            client.close();
            resolve(r);
          };
          const tick = () => {
            if (blocked) return;
            const now = Date.now();
            const due = Math.min(total, Math.floor(((now - r.t0) * perEdge) / 1000));
            let wrote = false;
            while (r.sent < due) {
              r.sent += 1;
              wrote = true;
              const seq = r.base + r.sent;
              const ok = call.write({
                seq,
                timeMs: now,
                cart: {
                  visitId: edge.visits[seq % edge.visits.length],
                  memberNo: 0,
                  sku: edge.skus[seq % edge.skus.length],
                  quantity: 1,
                  confidence: 0.95,
                  evidence: [`clip-${seq}`],
                  grams: 0,
                },
              });
              if (!ok) {
                // Full: write on as soon as grpc-js has room, not at the next tick.
                blocked = true;
                call.once('drain', () => {
                  blocked = false;
                  if (!done && interval) tick();
                });
                break;
              }
            }
            if (wrote) pending.push([r.base + r.sent, now]);
            if (r.sent >= total) {
              r.tLastWrite = now;
              if (interval) clearInterval(interval);
              interval = null;
              call.end();
              drainTimer = setTimeout(() => finish('drain timeout'), drainMs);
            }
          };
          call.on('data', (m: Incoming) => {
            if (m.welcome && r.base < 0) {
              r.base = Number(m.welcome.ackedSeq);
              r.t0 = Date.now();
              interval = setInterval(tick, TICK_MS);
            } else if (m.ack) {
              const now = Date.now();
              const a = Number(m.ack.seq) - r.base;
              if (a > r.acked) {
                r.acked = a;
                r.tLastAck = now;
                while (head < pending.length && pending[head]![0] - r.base <= a) {
                  r.latencies.push(now - pending[head]![1]);
                  head += 1;
                }
                const last = r.timeline.at(-1);
                if (!last || now - last[0] >= 200) r.timeline.push([now, a]);
              }
              if (r.sent >= total && r.acked >= r.sent) finish('all acknowledged');
            } else if (m.rejected) {
              r.rejected += 1;
            }
          });
          call.on('error', (err: grpc.ServiceError) => {
            if (done) return;
            r.errors += 1;
            process.stderr.write(`node edge ${edge.id}: stream error ${err.code}: ${err.message}\n`);
            finish('stream error');
          });
          call.on('end', () => finish('stream ended'));
        }),
    ),
  );
}
