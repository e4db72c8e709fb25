// k6 script: what the shopper's app asks of the cloud, run by benchmarks/k6/bench-k6.ts.
//   codes:    POST /v1/me/entry-codes  (a fresh QR code, as the app refreshes it every 20 s)
//   receipts: GET  /v1/me/receipts     (the receipts list; each shopper has a few issued ones)
//
// Environment (k6 run -e KEY=value):
//   BASE_URL         the cloud's HTTP address
//   SHOPPERS_FILE    absolute path of a JSON array of {token, receipts}: a shopper's bearer token
//                    and how many issued receipts the list must show
//   CODES_RATE, RECEIPTS_RATE  requests a second of each (default 150 each); DURATION (default 20s)
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import http from 'k6/http';

const DURATION = __ENV.DURATION || '20s';
const shoppers = new SharedArray('shoppers', () => JSON.parse(open(__ENV.SHOPPERS_FILE)));

const scenario = (fn, rate) => ({
  executor: 'constant-arrival-rate',
  exec: fn,
  rate,
  timeUnit: '1s',
  duration: DURATION,
  preAllocatedVUs: Number(__ENV.PRE_VUS || 40),
  maxVUs: Number(__ENV.MAX_VUS || 200),
  gracefulStop: '10s',
});

export const options = {
  scenarios: {
    codes: scenario('codes', Number(__ENV.CODES_RATE || 150)),
    receipts: scenario('receipts', Number(__ENV.RECEIPTS_RATE || 150)),
  },
  thresholds: {
    'http_req_duration{scenario:codes}': ['p(99)<50'],
    'http_req_duration{scenario:receipts}': ['p(99)<50'],
    'http_req_failed{scenario:codes}': ['rate<0.01'],
    'http_req_failed{scenario:receipts}': ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

const base = __ENV.BASE_URL;
const shopper = () => shoppers[exec.scenario.iterationInTest % shoppers.length];
const auth = (token) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

export function codes() {
  const s = shopper();
  const res = http.post(`${base}/v1/me/entry-codes`, '{"companions":0}', {
    headers: auth(s.token),
    tags: { name: 'POST /v1/me/entry-codes' },
  });
  check(res, {
    'entry code issued': (r) => r.status === 201 && typeof r.json('code') === 'string',
  });
}

export function receipts() {
  const s = shopper();
  const res = http.get(`${base}/v1/me/receipts`, {
    headers: auth(s.token),
    tags: { name: 'GET /v1/me/receipts' },
  });
  check(res, {
    'receipts listed': (r) => {
      if (r.status !== 200) return false;
      const list = r.json();
      return Array.isArray(list) && list.length === s.receipts;
    },
  });
}
