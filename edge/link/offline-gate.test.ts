import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { issuedReceipt, newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { entryCode } from '../../test/support/gate.ts';
import { addDevice, setUpStore } from '../../test/support/store.ts';
import { recordingLogger } from '../io/test-log.ts';
import { admitOffline, OfflineGate } from './offline-gate.ts';
import { testLink } from './testing/test-link.ts';

let cloud: TestCloud;
const dirs: string[] = [];
const log = createLogger('offline-gate-test', { level: 'silent' });
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'walkout-offline-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  cloud = await startTestCloud('edge-offline');
  (await setUpStore(cloud)).disconnect();
});
afterAll(async () => {
  await cloud?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const gateAt = (keysFile: string) =>
  new OfflineGate({ keysFile, stateFile: `${keysFile}.entries`, skewS: 2, maxValidityS: 30 }, log);

describe('entry codes checked at the edge', () => {
  it('admits a code the cloud signed, once, while it is valid, also from the keys kept on disk', async () => {
    const keysFile = join(freshDir(), 'keys.json');
    const gate = gateAt(keysFile);
    const shopper = await newShopper(cloud);
    const qr = await entryCode(cloud, shopper.token, 2);
    expect(await gate.check(qr, cloud.clock.ms)).toMatchObject({ ok: false, reason: 'no_keys' });
    await gate.refresh(`${cloud.httpUrl}/v1/entry-keys`);
    const good = await gate.check(qr, cloud.clock.ms);
    expect(good).toMatchObject({ ok: true, claims: { sub: shopper.id, companions: 2 } });
    expect(await gate.check(qr, cloud.clock.ms)).toMatchObject({ ok: false, reason: 'replayed' });

    // A restart while the cloud is away: the kept keys still verify.
    const restarted = gateAt(keysFile);
    // ...and nothing it let in is forgotten: the code is still used.
    expect(await restarted.check(qr, cloud.clock.ms)).toMatchObject({ ok: false, reason: 'replayed' });
    const other = await entryCode(cloud, (await newShopper(cloud)).token);
    expect(await restarted.check(other, cloud.clock.ms + 31_000)).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    expect(await restarted.check(other, cloud.clock.ms)).toMatchObject({ ok: true });
    // One character of the signature changed.
    const [h, p, s] = qr.split('.') as [string, string, string];
    const forged = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
    expect(await restarted.check(forged, cloud.clock.ms)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('keeps a party’s passes across a restart, and starts (loudly) from an unreadable file', () => {
    const keysFile = join(freshDir(), 'keys.json');
    const pass = { visitId: 'v1', gateId: 'g1', party: 3, left: 2, untilMs: 100_000 };
    const gate = gateAt(keysFile);
    gate.keepPass('code', pass);
    gate.usePass('code');
    expect(gateAt(keysFile).passFor('code', 50_000)).toEqual({ ...pass, left: 1 });
    // Lapsed, or spent, it is gone.
    expect(gateAt(keysFile).passFor('code', 100_001)).toBeUndefined();
    const spent = gateAt(keysFile);
    spent.usePass('code');
    expect(gateAt(keysFile).passFor('code', 50_000)).toBeUndefined();

    writeFileSync(`${keysFile}.entries`, '{"used": 3');
    const loud = recordingLogger();
    const fresh = new OfflineGate(
      { keysFile, stateFile: `${keysFile}.entries`, skewS: 2, maxValidityS: 30 },
      loud,
    );
    expect(fresh.passFor('code', 50_000)).toBeUndefined();
    expect(loud.lines.map((l) => l.msg)).toContain('offline entries file unreadable; used codes forgotten');
  });

  it('opens the gate while the cloud is down, and the cloud makes the entry a visit and a receipt when it is back', async () => {
    const edge = await addDevice(cloud, 'reference', 'edge');
    const dir = freshDir();
    const link = testLink(cloud, edge, dir, log);
    // The StoreConfig at the Welcome names the keys; the link fetches them.
    await until('the entry keys', () => link.offlineGate().hasKeys());
    const shopper = await newShopper(cloud);
    const qr = await entryCode(cloud, shopper.token);
    const down = await cloud.down();
    const scan = { scanId: 'scan-1', gateId: 'g1', qr };
    expect(await link.askGate(scan, 500)).toBeNull();
    const answer = await admitOffline(link.offlineGate(), link, scan, cloud.clock.ms);
    expect(answer).toMatchObject({ open: true, reason: 'offline', party: 1 });
    const { visitId } = answer;
    const at = cloud.clock.ms;
    await link.report({ body: 'visit', visit: { visitId, kind: 'MEMBER_ENTERED', memberNo: 0 } }, at);
    await link.report(
      {
        body: 'cart',
        cart: {
          visitId,
          memberNo: 0,
          sku: 'cola-330',
          quantity: 2,
          confidence: 0.95,
          evidence: ['e1'],
          grams: 0,
        },
      },
      at,
    );
    await link.report({ body: 'visit', visit: { visitId, kind: 'MEMBER_EXITED', memberNo: 0 } }, at);
    await link.report({ body: 'visit', visit: { visitId, kind: 'VISIT_CLOSED', memberNo: 0 } }, at);
    expect(link.status()).toMatchObject({ connected: false, pending: 5 });
    cloud = await down.up();
    const receipt = await issuedReceipt(cloud, shopper.token);
    expect(receipt).toMatchObject({ visitId, totalMinor: 2 * 129 });
    const entry = await cloud.ctx.db.query('select outcome from offline_entries where visit_id = $1', [
      visitId,
    ]);
    expect(entry.rows).toEqual([{ outcome: 'admitted' }]);
    expect(link.rejected()).toEqual({});
    await link.close();
  });
});
