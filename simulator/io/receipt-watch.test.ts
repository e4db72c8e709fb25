import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { referenceCatalog, setUpStore, type TestStore } from '../../test/support/store.ts';
import { type CloudApp, createCloudApp } from './cloud-app.ts';

async function until(what: string, ok: () => boolean, timeoutMs = 8_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!process.env.DATABASE_URL)('the phones waiting for their receipts on a real cloud', () => {
  let cloud: TestCloud;
  let store: TestStore;
  let app: CloudApp;
  const sku = referenceCatalog.items[0]!.sku;

  beforeAll(async () => {
    cloud = await startTestCloud('receipt-watch');
    store = await setUpStore(cloud);
    app = createCloudApp({
      baseUrl: cloud.httpUrl,
      receipts: { pollEveryMs: 50, giveUpAfterMs: 1_500 },
    });
  });
  afterAll(async () => {
    app?.close();
    store?.disconnect();
    await cloud?.stop();
  });

  /** The app's code through the cloud's gate: returns the cloud's visit id. */
  async function enter(personId: string, simVisitId: string): Promise<string> {
    const code = await app.requestEntryCode({
      personId,
      visitId: simVisitId,
      role: 'shopper',
      companions: 0,
      tsMs: 0,
    });
    const r = await cloud.call('POST', '/v1/gates/g1/scans', { basic: store.gate, body: { qr: code } });
    expect(r.body.decision).toBe('open');
    return r.body.visitId as string;
  }

  it('counts each exit until its own receipt shows, never an earlier one, and gives up on one that never comes', async () => {
    const first = await enter('p-1', 'sim-v1');
    store.take(first, sku, 1);
    store.close(first);
    app.visitOver({ visitId: 'sim-v1', tsMs: 0 });
    await until('the first receipt', () => app.receipts().received === 1);
    expect(app.receipts()).toMatchObject({ exits: 1, received: 1, waiting: 0, gaveUp: 0 });
    expect(app.receipts().latencyMs.max).toBeGreaterThanOrEqual(0);

    // The same shopper again: the receipt already seen must not answer the second exit.
    const second = await enter('p-1', 'sim-v2');
    app.visitOver({ visitId: 'sim-v2', tsMs: 0 });
    // A shopper whose visit the cloud never hears closed (the edge missed the exit).
    await enter('p-2', 'sim-v3');
    app.visitOver({ visitId: 'sim-v3', tsMs: 0 });
    await new Promise((r) => setTimeout(r, 400));
    expect(app.receipts()).toMatchObject({ exits: 3, received: 1, waiting: 2 });

    store.take(second, sku, 2);
    store.close(second);
    await until('the second receipt', () => app.receipts().received === 2);
    await until('the third given up', () => app.receipts().gaveUp === 1);
    const s = app.receipts();
    expect(s).toMatchObject({ exits: 3, received: 2, waiting: 0, gaveUp: 1 });
    // The second waited at least the time before its visit closed.
    expect(s.latencyMs.max!).toBeGreaterThanOrEqual(400);
    expect(s.latencyMs.median!).toBeLessThanOrEqual(s.latencyMs.max!);
  });

  it('does not wait for a visit whose code it never gave', () => {
    const before = app.receipts().exits;
    app.visitOver({ visitId: 'sim-unknown', tsMs: 0 });
    expect(app.receipts().exits).toBe(before);
  });
});
