// k6 script: gate decisions over HTTP, run by benchmarks/k6/bench-k6.ts (npm run bench:k6).
//
// Every scan carries its own fresh entry code, so every scan that is decided correctly opens the
// gate. Codes are single-use and live 30 s; the driver fetches them through the app's API just
// before the run, in the order they are consumed here, and writes them to CODES_FILE.
//
// Environment (k6 run -e KEY=value):
//   BASE_URL     the cloud's HTTP address, e.g. http://127.0.0.1:8080
//   GATES_FILE   absolute path of a JSON array of {gateId, auth}: the gate id in the path and its
//                controller's credentials, "Basic base64(id:secret)"; scan i goes to gate i mod n
//                (one entry unless the driver spreads the load over several stores)
//   CODES_FILE   absolute path of a JSON array of entry codes, oldest first
//   RATE         scans a second (default 1000); DURATION (default 20s)
//   PRE_VUS, MAX_VUS  VUs k6 may use to hold the arrival rate

import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Rate } from 'k6/metrics';

const RATE = Number(__ENV.RATE || 1000);
const DURATION = __ENV.DURATION || '20s';

const codes = new SharedArray('entry codes', () => JSON.parse(open(__ENV.CODES_FILE)));

/** true for every scan the gate opened for; the rest are denials (or errors). */
const opened = new Rate('gate_open');
const denied = new Counter('gate_denied');
const exhausted = new Counter('gate_codes_exhausted');

export const options = {
  discardResponseBodies: false,
  scenarios: {
    gate: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Number(__ENV.PRE_VUS || 100),
      maxVUs: Number(__ENV.MAX_VUS || 400),
      gracefulStop: '10s',
    },
  },
  thresholds: {
    'http_req_duration{scenario:gate}': ['p(99)<50'],
    'http_req_failed{scenario:gate}': ['rate<0.01'],
    // A denial rate above a few percent means the test is wrong (expired or reused codes), not the gate.
    gate_open: ['rate>0.97'],
    gate_codes_exhausted: ['count==0'],
  },
};

const gates = new SharedArray('gates', () => JSON.parse(open(__ENV.GATES_FILE)));
const targets = [];
for (let g = 0; g < gates.length; g += 1) {
  targets.push({
    url: `${__ENV.BASE_URL}/v1/gates/${gates[g].gateId}/scans`,
    params: {
      headers: { authorization: gates[g].auth, 'content-type': 'application/json' },
      tags: { name: 'POST /v1/gates/:gateId/scans' },
    },
  });
}

export default function () {
  const i = exec.scenario.iterationInTest;
  if (i >= codes.length) {
    exhausted.add(1);
    return;
  }
  const gate = targets[i % targets.length];
  const res = http.post(gate.url, JSON.stringify({ qr: codes[i] }), gate.params);
  let decision = null;
  if (res.status === 200) {
    try {
      decision = res.json();
    } catch (_) {
      decision = null;
    }
  }
  const open = decision !== null && decision.decision === 'open';
  opened.add(open);
  if (!open) denied.add(1, { reason: decision ? String(decision.reason) : `http_${res.status}` });
}
