/** edge.js (or the Node driver): EdgeLink streams at a sustained rate, checked for loss. */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../cloud/db/pool.ts';
import { summarize } from '../inference/stats.ts';
import type { Distribution } from '../lib/svg-histogram.ts';
import { CpuMeter, postgresPids, runK6, thresholds } from './k6.ts';
import { type EdgeResult, type EdgeSpec, runNodeEdges } from './node-edge.ts';
import { EDGE, here, nodeEdge, root, round, say } from './options.ts';
import { allPassed, type Env, k6Ran, sampleDbWaits, write, writeFailure } from './report.ts';

export async function verifyEdges(db: Db, results: readonly EdgeResult[]) {
  const ids = results.map((r) => r.device);
  const stored = await db.query<{ device_id: string; n: number; lo: number; hi: number }>(
    `select device_id, count(*)::int as n, min(seq)::bigint as lo, max(seq)::bigint as hi
     from cart_events where device_id = any($1) group by 1`,
    [ids],
  );
  const acks = await db.query<{ device_id: string; acked_seq: number }>(
    'select device_id, acked_seq from edge_links where device_id = any($1)',
    [ids],
  );
  // A batch is stored in one transaction, and received_at defaults to the transaction's start.
  const batches = await db.query<{ n: number }>(
    'select count(distinct (device_id, received_at))::int as n from edge_events where device_id = any($1)',
    [ids],
  );
  const refusedRows = await db.query<{ n: number }>(
    'select count(*)::int as n from edge_rejections where device_id = any($1)',
    [ids],
  );
  const byDevice = new Map(stored.rows.map((r) => [r.device_id, r]));
  const ackOf = new Map(acks.rows.map((r) => [r.device_id, r.acked_seq]));
  const sent = results.reduce((a, r) => a + r.sent, 0);
  const storedN = stored.rows.reduce((a, r) => a + r.n, 0);
  const first = results.length ? Math.min(...results.map((r) => r.t0)) : 0;
  const lastAck = results.length ? Math.max(...results.map((r) => r.tLastAck)) : 0;
  const lastWrite = results.length ? Math.max(...results.map((r) => r.tLastWrite)) : 0;
  const acked = results.reduce((a, r) => a + r.acked, 0);
  const latencies = results.flatMap((r) => r.latencies);
  return {
    edges: results.length,
    eventsTarget: results.reduce((a, r) => a + r.target, 0),
    eventsSent: sent,
    eventsAcknowledged: acked,
    eventsStored: storedN,
    lost: sent - storedN,
    rejected: refusedRows.rows[0]?.n ?? 0,
    /** Transactions the cloud stored the events in, and events per transaction. */
    storeBatches: batches.rows[0]?.n ?? 0,
    eventsPerBatch: round(storedN / Math.max(1, batches.rows[0]?.n ?? 0)),
    streamErrors: results.reduce((a, r) => a + r.errors, 0),
    /** Stored events over the time from the first write to the last ack: what the cloud kept up with. */
    sustainedEventsPerS: Math.round(acked / Math.max(0.001, (lastAck - first) / 1000)),
    /** Events handed to the stream over the writing phase. */
    writeEventsPerS: Math.round(sent / Math.max(0.001, (lastWrite - first) / 1000)),
    drainSecondsAfterLastWrite: round((lastAck - lastWrite) / 1000, 2),
    ackLatencyMs: summarize(latencies),
    perEdge: results.map((r) => {
      const row = byDevice.get(r.device);
      return {
        device: r.device,
        ended: r.why,
        sent: r.sent,
        finalAck: ackOf.get(r.device) ?? 0,
        stored: row?.n ?? 0,
        seqRange: row ? [row.lo, row.hi] : null,
        contiguous: row ? row.hi - row.lo + 1 === row.n && row.lo === r.base + 1 : false,
        eventsPerS: Math.round(r.acked / Math.max(0.001, (r.tLastAck - r.t0) / 1000)),
      };
    }),
    ackLagSecondsBySecond: ackLag(results),
    latencies,
  };
}

/**
 * How far the cloud's acknowledgements were behind the writing schedule, second by second (the
 * mean over edges at the end of each second): steady means the rate is sustained, rising means a
 * backlog grows.
 */
export function ackLag(results: readonly EdgeResult[]): number[] {
  const perEdge = results.map((r) => ({ r, rate: r.target / Math.max(0.001, (r.tLastWrite - r.t0) / 1000) }));
  const seconds = Math.ceil(Math.max(0, ...results.map((r) => (r.tLastAck - r.t0) / 1000)));
  const out: number[] = [];
  for (let sec = 1; sec <= seconds; sec += 1) {
    const lags = perEdge.flatMap(({ r, rate }) => {
      const until = r.t0 + sec * 1000;
      const point = r.timeline.filter(([t]) => t <= until).at(-1);
      if (!point) return [];
      const scheduled = Math.min(r.target, ((point[0] - r.t0) / 1000) * rate);
      return [Math.max(0, scheduled - point[1]) / rate];
    });
    if (lags.length) out.push(round(lags.reduce((a, b) => a + b, 0) / lags.length, 2));
  }
  return out;
}

export async function edgeScenario(env: Env, k6Edges: EdgeSpec[], nodeEdges: EdgeSpec[]): Promise<boolean> {
  const edgesFile = join(env.tmp, 'edges.json');
  writeFileSync(edgesFile, JSON.stringify(k6Edges));
  const summaryFile = join(env.tmp, 'edge-summary.json');
  let waits = sampleDbWaits(env.db, env.dbName);
  say(`\nedge: k6, ${k6Edges.length} edge streams, ${EDGE.rate} cart events/s in all for ${EDGE.seconds} s…`);
  const o = await runK6({
    k6: env.k6.path,
    script: join(here, 'edge.js'),
    label: 'edge',
    env: {
      GRPC_ADDR: env.cloud.grpcAddress,
      PROTO_DIR: join(root, 'proto/grpc'),
      EDGES_FILE: edgesFile,
      RATE: String(EDGE.rate),
      DURATION: String(EDGE.seconds),
    },
    summaryFile,
    capture: ['EDGE_RESULT '],
    cloudPid: env.cloud.child.pid!,
    say,
  });
  const k6DbWaits = waits();
  if (!k6Ran(o, 'edge')) return writeFailure('k6-edge', env, o);
  const k6Results = o.captured.map((l) => JSON.parse(l.slice('EDGE_RESULT '.length)) as EdgeResult);
  if (k6Results.length !== k6Edges.length)
    say(`  warning: ${k6Results.length} of ${k6Edges.length} k6 edges reported a result`);
  // The cloud stores a batch before it acks it; the last rows are in once the last ack is out.
  const k6Verified = await verifyEdges(env.db, k6Results);
  const t = thresholds(o.summary);
  const k6Ok =
    allPassed(t) && o.exitCode === 0 && k6Verified.lost === 0 && k6Results.length === k6Edges.length;
  const k6Reached = k6Verified.sustainedEventsPerS >= EDGE.rate * 0.95;
  say(
    `edge (k6): sent ${k6Verified.eventsSent}, stored ${k6Verified.eventsStored}, lost ${k6Verified.lost}; ` +
      `${k6Verified.sustainedEventsPerS} events/s sustained (written at ${k6Verified.writeEventsPerS}/s), ` +
      `ack latency p99 ${k6Verified.ackLatencyMs.p99} ms; cpu ${JSON.stringify(o.cpuCores)}`,
  );

  let node:
    | (Awaited<ReturnType<typeof verifyEdges>> & {
        cpuCores: Record<string, number>;
        dbSessionSamples: Record<string, number>;
      })
    | null = null;
  if (nodeEdge === 'always' || (nodeEdge === 'auto' && !k6Reached)) {
    say(`edge: the same load from Node (@grpc/grpc-js), ${nodeEdges.length} streams…`);
    const meter = new CpuMeter({
      cloud: () => [env.cloud.child.pid!],
      driver: () => [process.pid],
      postgres: postgresPids,
    });
    meter.start();
    waits = sampleDbWaits(env.db, env.dbName);
    const results = await runNodeEdges({
      address: env.cloud.grpcAddress,
      edges: nodeEdges,
      rate: EDGE.rate,
      seconds: EDGE.seconds,
    });
    const cpuCores = meter.stop();
    const dbSessionSamples = waits();
    node = { ...(await verifyEdges(env.db, results)), cpuCores, dbSessionSamples };
    say(
      `edge (node): sent ${node.eventsSent}, stored ${node.eventsStored}, lost ${node.lost}; ` +
        `${node.sustainedEventsPerS} events/s sustained, ack latency p99 ${node.ackLatencyMs.p99} ms; ` +
        `cpu ${JSON.stringify(cpuCores)}`,
    );
  }
  const strip = <T extends { latencies: number[] }>(v: T) => {
    const { latencies: _, ...rest } = v;
    return rest;
  };
  const nodeOk = node !== null && node.lost === 0 && node.sustainedEventsPerS >= EDGE.rate * 0.95;
  const result = {
    benchmark: 'k6-edge',
    ...env.common,
    script: 'benchmarks/k6/edge.js',
    what: 'EdgeLink.Connect bidirectional streams, one per edge device, cart events with contiguous seqs about open visits of the store',
    target: { eventsPerS: EDGE.rate, seconds: EDGE.seconds, edges: EDGE.edges, lost: 0 },
    k6: {
      ...strip(k6Verified),
      thresholds: t,
      thresholdsPassed: allPassed(t) && o.exitCode === 0,
      reachedTarget: k6Reached,
      cpuCores: o.cpuCores,
      dbSessionSamples: k6DbWaits,
      k6ExitCode: o.exitCode,
    },
    k6CouldDriveTarget: k6Reached,
    note: k6Reached
      ? 'k6 drove the target rate itself'
      : 'k6 did not reach the target rate; see node (the same load from @grpc/grpc-js) for whether the cloud can',
    node: node ? { ...strip(node), reachedTarget: nodeOk } : null,
    meetsTarget: (k6Ok && k6Reached) || nodeOk,
  };
  const panels: Distribution[] = [
    { name: 'k6 edges: write → cumulative ack', unit: 'ms', colour: '#2c7fb8', values: k6Verified.latencies },
  ];
  if (node)
    panels.push({
      name: 'Node edges: write → cumulative ack',
      unit: 'ms',
      colour: '#d95f0e',
      values: node.latencies,
    });
  write('k6-edge', result, {
    title: `Edge cart events, ${EDGE.rate}/s target: time to acknowledgement`,
    panels,
  });
  return result.meetsTarget && k6Ok;
}

// ---------------------------------------------------------------------------------------------
