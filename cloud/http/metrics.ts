import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface CloudMetrics {
  registry: Registry;
  requests: Histogram<'method' | 'route' | 'status'>;
  rejected: Counter<'code' | 'surface'>;
  gateDecisions: Histogram<'decision' | 'reason'>;
  holds: Histogram<'outcome'>;
}

/** One registry per server, so tests running two servers in a process do not share counters. */
export function createMetrics(): CloudMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Histogram({
      name: 'walkout_http_request_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'walkout_rejected_inputs_total',
      help: 'Requests and messages refused as malformed or unauthorised, by error code',
      labelNames: ['code', 'surface'],
      registers: [registry],
    }),
    gateDecisions: new Histogram({
      name: 'walkout_gate_decision_seconds',
      help: 'Gate scan to decision, by decision and denial reason',
      labelNames: ['decision', 'reason'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    holds: new Histogram({
      name: 'walkout_hold_seconds',
      help: "From a gate's opening to the provider's answer to the visit's hold, by outcome",
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
  };
}
