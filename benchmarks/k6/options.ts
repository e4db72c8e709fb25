/** The command line of `npm run bench:k6` and the constants every scenario shares. */

import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const argv = process.argv.slice(2);
export const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
};
export const num = (name: string, fallback: number) => {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};
export const root = fileURLToPath(new URL('../../', import.meta.url));
export const here = join(root, 'benchmarks/k6');
export const resultsDir = resolve(arg('out', join(root, 'benchmarks/results')));
export const only = new Set(arg('only', 'gate,app,edge').split(','));
export const GATE = {
  rate: num('gate-rate', 1000),
  seconds: num('gate-seconds', 20),
  stores: num('gate-stores', 1),
  p99Ms: 50,
  maxFailed: 0.01,
};
/** The gate id the load uses in its URLs; setup scans use another, so decisions can be told apart. */
export const LOAD_GATE = 'gate-load';
export const APP = { rate: num('app-rate', 300), seconds: num('app-seconds', 20), p99Ms: 50 };
export const EDGE = {
  rate: num('edge-rate', 10_000),
  seconds: num('edge-seconds', 20),
  edges: num('edges', 4),
};
export const nodeEdge = arg('node-edge', 'auto');
/** Where the gate's entry codes come from: signed here with the cloud's key, or fetched one by one. */
export const CODES = arg('codes', 'key');
export const ENTRY_CODE_TTL_S = 30;
export const SHOPPERS = num('shoppers', 200);
export const RECEIPTS_PER_SHOPPER = 2;
export const VISITS_PER_EDGE = 8;
export const keepDb = argv.includes('--keep-db');

export const say = (line: string) => process.stderr.write(`${line}\n`);
export const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
