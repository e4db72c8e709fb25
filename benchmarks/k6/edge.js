// k6 script: the EdgeLink gRPC stream (proto/grpc/edge_link.proto), run by benchmarks/k6/bench-k6.ts.
//
// Each VU is one edge device with its own credentials: it opens EdgeLink.Connect, waits for the
// Welcome, then writes cart events at RATE / number of edges a second for DURATION, numbered
// 1, 2, 3 … (contiguous per device, as an edge numbers them), each about one of the open visits
// of its store that the driver opened at the HTTP gate. It then ends its half of the stream and
// waits for the cumulative Ack of its last event; sent − acked is what was lost.
//
// k6's Stream.write() never blocks: a message goes to an unbounded queue in k6's Go side, from
// where one goroutine per stream encodes and sends it. So "sent" here is what the script handed
// to k6 on schedule; what reached the cloud is what the cloud acknowledged, and when.
//
// Environment (k6 run -e KEY=value):
//   GRPC_ADDR    host:port of the cloud's EdgeLink server
//   PROTO_DIR    absolute path of proto/grpc
//   EDGES_FILE   absolute path of a JSON array of {id, auth, visits[], skus[]}, one per VU
//   RATE         events a second over all edges (default 10000); DURATION seconds (default 20)
//   DRAIN_S      how long to wait for the last ack after the last write (default 30)
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import grpc from 'k6/net/grpc';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'k6/timers';

const edges = new SharedArray('edges', () => JSON.parse(open(__ENV.EDGES_FILE)));
const RATE = Number(__ENV.RATE || 10000);
const DURATION_S = Number(__ENV.DURATION || 20);
const DRAIN_S = Number(__ENV.DRAIN_S || 30);
const TICK_MS = 10;
const perEdgeRate = RATE / edges.length;

const sentEvents = new Counter('edge_events_sent');
const ackedEvents = new Counter('edge_events_acked');
const lostEvents = new Counter('edge_events_lost');
const rejected = new Counter('edge_events_rejected');
const streamErrors = new Counter('edge_stream_errors');
/** Time from handing a tick's events to k6 until the cloud's cumulative ack covers them. */
const ackLatency = new Trend('edge_ack_latency', true);
/** Per edge: events acknowledged / (last ack − first write), in events a second. */
const storedRate = new Trend('edge_stored_rate');

export const options = {
  scenarios: {
    edge: {
      executor: 'per-vu-iterations',
      vus: edges.length,
      iterations: 1,
      maxDuration: `${DURATION_S + DRAIN_S + 30}s`,
    },
  },
  thresholds: {
    edge_events_lost: ['count==0'],
    edge_events_rejected: ['count==0'],
    edge_stream_errors: ['count==0'],
    // 95 % of the target, per edge, including the time to drain what k6 had queued.
    edge_stored_rate: [`min>=${Math.floor(perEdgeRate * 0.95)}`],
  },
};

const client = new grpc.Client();
client.load([__ENV.PROTO_DIR], 'edge_link.proto');

export default function () {
  const edge = edges[exec.vu.idInTest - 1];
  client.connect(__ENV.GRPC_ADDR, { plaintext: true, timeout: '10s' });
  const stream = new grpc.Stream(client, 'walkout.edge.v1.EdgeLink/Connect', {
    metadata: { authorization: edge.auth },
  });
  const total = Math.round(perEdgeRate * DURATION_S);
  const visits = edge.visits;
  const skus = edge.skus;
  let base = -1; // the Welcome's acked seq: events are base+1 … base+total
  let sent = 0;
  let acked = 0;
  let rejections = 0;
  let errors = 0;
  let t0 = 0;
  let tLastWrite = 0;
  let tLastAck = 0;
  let interval = null;
  let drainTimer = null;
  let done = false;
  // Per tick: the last seq written and when; an ack covering it gives that tick's latency.
  const pendingSeq = [];
  const pendingAt = [];
  let head = 0;
  const latencies = [];
  const timeline = [];

  const finish = (why) => {
    if (done) return;
    done = true;
    if (interval !== null) clearInterval(interval);
    if (drainTimer !== null) clearTimeout(drainTimer);
    const seconds = (tLastAck - t0) / 1000;
    const rate = seconds > 0 ? acked / seconds : 0;
    sentEvents.add(sent);
    ackedEvents.add(acked);
    lostEvents.add(Math.max(0, sent - acked));
    storedRate.add(rate);
    check(null, { 'every event acknowledged': () => acked === sent && sent === total });
    console.log(
      `EDGE_RESULT ${JSON.stringify({
        device: edge.id,
        why,
        base,
        target: total,
        sent,
        acked,
        rejected: rejections,
        errors,
        t0,
        tLastWrite,
        tLastAck,
        latencies,
        timeline,
      })}`,
    );
    client.close();
  };

  const write = (n, now) => {
    for (let k = 0; k < n; k += 1) {
      sent += 1;
      const seq = base + sent;
      stream.write({
        seq,
        timeMs: now,
        cart: {
          visitId: visits[seq % visits.length],
          memberNo: 0,
          sku: skus[seq % skus.length],
          quantity: 1,
          confidence: 0.95,
          evidence: [`clip-${seq}`],
          grams: 0,
        },
      });
    }
    pendingSeq.push(base + sent);
    pendingAt.push(now);
  };

  const tick = () => {
    const now = Date.now();
    const due = Math.min(total, Math.floor(((now - t0) * perEdgeRate) / 1000));
    if (due > sent) write(due - sent, now);
    if (sent >= total) {
      tLastWrite = now;
      clearInterval(interval);
      interval = null;
      stream.end();
      drainTimer = setTimeout(() => finish('drain timeout'), DRAIN_S * 1000);
    }
  };

  stream.on('data', (m) => {
    if (m.welcome && base < 0) {
      base = Number(m.welcome.ackedSeq);
      t0 = Date.now();
      interval = setInterval(tick, TICK_MS);
    } else if (m.ack) {
      const now = Date.now();
      const a = Number(m.ack.seq) - base;
      if (a > acked) {
        acked = a;
        tLastAck = now;
        while (head < pendingSeq.length && pendingSeq[head] - base <= a) {
          const ms = now - pendingAt[head];
          ackLatency.add(ms);
          latencies.push(ms);
          head += 1;
        }
        if (timeline.length === 0 || now - timeline[timeline.length - 1][0] >= 200) timeline.push([now, a]);
      }
      // Everything is stored; the cloud ends the stream once it has seen our end.
      if (sent >= total && acked >= sent && drainTimer !== null) {
        clearTimeout(drainTimer);
        drainTimer = setTimeout(() => finish('all acknowledged, stream not ended'), 5000);
      }
    } else if (m.rejected) {
      rejections += 1;
      rejected.add(1, { code: String(m.rejected.code) });
    }
  });
  stream.on('error', (e) => {
    if (done) return;
    errors += 1;
    streamErrors.add(1);
    console.error(`edge ${edge.id}: stream error ${e.code}: ${e.message}`);
  });
  stream.on('end', () => finish('stream ended'));
}
