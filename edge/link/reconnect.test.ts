import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { EdgeLinkClient } from './client.ts';
import { loadLinkConfig } from './config.ts';
import type { Timers } from './timers.ts';

/** A port nothing listens on: bound, noted and closed again. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Timers the test fires by hand: each reconnect waits here until the test lets it run. */
function handTimers() {
  const waiting: { fn: () => void; ms: number }[] = [];
  const timers: Timers = {
    set: (fn, ms) => {
      const t = { fn, ms };
      waiting.push(t);
      return t;
    },
    clear: (t) => {
      const i = waiting.indexOf(t as (typeof waiting)[number]);
      if (i >= 0) waiting.splice(i, 1);
    },
  };
  return { timers, waiting };
}

/** Distinct from every backoff wait, so the test tells the two timers apart. */
const WELCOME_MS = 60_000;

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!ok()) throw new Error('timed out');
}

describe('reconnecting while the cloud is unreachable', () => {
  it('waits the capped, doubling backoff on the injected timers between attempts, and keeps reports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'walkout-reconnect-'));
    const { timers, waiting } = handTimers();
    const cfg = loadLinkConfig(
      {
        address: `127.0.0.1:${await deadPort()}`,
        outboxDir: dir,
        backoff: { initialMs: 100, maxMs: 400, factor: 2, jitter: 0.5 },
        welcomeTimeoutMs: WELCOME_MS,
      },
      { WALKOUT_EDGE_CREDENTIALS: 'edge-test:secret' },
    );
    const link = EdgeLinkClient.start(cfg, {
      log: createLogger('t', { level: 'silent' }),
      timers,
      random: () => 0,
    });
    const waits: number[] = [];
    const reconnects = () => waiting.filter((t) => t.ms !== WELCOME_MS);
    for (let attempt = 0; attempt < 5; attempt++) {
      await until(() => reconnects().length === 1);
      const next = reconnects()[0]!;
      waiting.splice(waiting.indexOf(next), 1);
      waits.push(next.ms);
      // Nothing reconnects until the timer fires.
      await new Promise((r) => setTimeout(r, 30));
      expect(waiting).toHaveLength(0);
      next.fn();
    }
    expect(waits).toEqual([100, 200, 400, 400, 400]);
    await link.report({ body: 'health', health: { component: 'x', status: 'ok', detail: '' } }, 1);
    expect(link.status()).toMatchObject({ connected: false, lastSeq: 1, ackedSeq: 0, pending: 1 });
    expect(await link.askGate({ scanId: 's', gateId: 'g1', qr: 'q' }, 1000)).toBeNull();
    await link.close();
    // Closed: no reconnect is left waiting.
    expect(waiting).toHaveLength(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops a stream the cloud accepts but never welcomes, and tries again', async () => {
    // A peer that takes the connection and says nothing: a hung cloud, or a proxy with no backend.
    const sockets = new Set<Socket>();
    const quiet = createServer((socket) => sockets.add(socket));
    await new Promise<void>((r) => quiet.listen(0, '127.0.0.1', r));
    const dir = mkdtempSync(join(tmpdir(), 'walkout-reconnect-'));
    const cfg = loadLinkConfig(
      {
        address: `127.0.0.1:${(quiet.address() as { port: number }).port}`,
        outboxDir: dir,
        backoff: { initialMs: 20, maxMs: 20, factor: 1, jitter: 0 },
        welcomeTimeoutMs: 150,
      },
      { WALKOUT_EDGE_CREDENTIALS: 'edge-test:secret' },
    );
    const link = EdgeLinkClient.start(cfg, { log: createLogger('t', { level: 'silent' }) });
    await until(() => link.status().attempt >= 3);
    expect(link.status().connected).toBe(false);
    await link.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => quiet.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
});
