/** The cloud under test as its own process, and the HTTP calls the set-up makes of it. */

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ENTRY_CODE_TTL_S, root, say, sleep } from './options.ts';

// ---------------------------------------------------------------------------------------------
// The cloud, as its own process

export interface Cloud {
  child: ChildProcess;
  httpUrl: string;
  grpcAddress: string;
  warnings: string[];
  stop(): Promise<void>;
}

export async function startCloudProcess(databaseUrl: string): Promise<Cloud> {
  // BENCH_CLOUD_NODE_ARGS: extra node flags for the cloud, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = (process.env.BENCH_CLOUD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...extra, '--import', 'tsx', join(root, 'cloud/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      HOST: '127.0.0.1',
      PORT: '0',
      GRPC_PORT: '0',
      METRICS_PORT: '0',
      // Sign-up is not measured here; the default cost would make creating shoppers the slow part.
      SCRYPT_COST: '1024',
      ENTRY_CODE_TTL_S: String(ENTRY_CODE_TTL_S),
      PAYMENT_PROVIDER: 'sandbox',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const warnings: string[] = [];
  const listening = new Promise<{ http: string; grpc: string }>((resolveListening, reject) => {
    child.once('exit', (code) => reject(new Error(`the cloud exited during start-up (code ${code})`)));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let rec: { level?: string; msg?: string; http?: string; grpc?: string } | null = null;
      try {
        rec = JSON.parse(line);
      } catch {
        say(`  [cloud] ${line}`);
        return;
      }
      if (rec?.msg === 'cloud listening' && rec.http && rec.grpc)
        resolveListening({ http: rec.http, grpc: rec.grpc });
      if (rec?.level === 'warn' || rec?.level === 'error') {
        warnings.push(line);
        if (warnings.length <= 5) say(`  [cloud] ${line.slice(0, 400)}`);
        else if (warnings.length === 6) say('  [cloud] … further warnings counted, not shown');
      }
    });
  });
  const where = await listening;
  return {
    child,
    httpUrl: where.http.replace('0.0.0.0', '127.0.0.1'),
    grpcAddress: where.grpc,
    warnings,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The public HTTP API

let baseUrl = '';
/** Where the cloud under test answers HTTP; set once it has started. */
export function setBaseUrl(url: string): void {
  baseUrl = url;
}

export async function api<T = unknown>(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; auth?: string } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.auth) headers.authorization = opts.auth;
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Runs fn over 0..n-1 with at most `limit` at once; results in index order. */
export async function mapLimit<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

export interface Shopper {
  id: string;
  token: string;
}

export async function signUpShopper(run: string, i: number): Promise<Shopper> {
  const up = await api<{ shopperId: string; accessToken: string }>('POST', '/v1/shoppers', {
    body: { email: `k6-${run}-${i}@example.test`, password: 'correct horse battery', name: `Shopper ${i}` },
  });
  if (up.status !== 201) throw new Error(`sign-up failed: ${up.status} ${JSON.stringify(up.body)}`);
  const card = await api<{ token: string }>('POST', '/sandbox/v1/tokens', {
    body: { number: '4242424242424242', expMonth: 12, expYear: 2099, cvc: '123' },
  });
  const added = await api('POST', '/v1/me/payment-methods', {
    token: up.body.accessToken,
    body: { token: card.body.token },
  });
  if (added.status !== 201) throw new Error(`adding a card failed: ${JSON.stringify(added.body)}`);
  return { id: up.body.shopperId, token: up.body.accessToken };
}

export async function entryCode(token: string): Promise<string> {
  const r = await api<{ code: string }>('POST', '/v1/me/entry-codes', { token, body: { companions: 0 } });
  if (r.status !== 201) throw new Error(`entry code refused: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.code;
}

export async function openVisit(shopper: Shopper, gateAuth: string, gateId: string): Promise<string> {
  const r = await api<{ decision: string; visitId?: string; reason?: string }>(
    'POST',
    `/v1/gates/${gateId}/scans`,
    { auth: gateAuth, body: { qr: await entryCode(shopper.token) } },
  );
  if (r.body.decision !== 'open' || !r.body.visitId)
    throw new Error(`setup scan denied: ${JSON.stringify(r.body)}`);
  return r.body.visitId;
}

// ---------------------------------------------------------------------------------------------
// Results
