import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { type GateCommand, type GateScan, topics } from '../../proto/index.ts';
import { newShopper, startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { entryCode } from '../../test/support/gate.ts';
import { addDevice, setUpStore } from '../../test/support/store.ts';
import { connectGateCommands } from '../io/gate-commands.ts';
import { liveFixture, until } from '../io/live-fixture.ts';
import { connectLiveInput } from '../io/live-input.ts';
import { recordingLogger } from '../io/test-log.ts';
import type { EdgeInput } from '../stages.ts';
import { GateAuthorityInput, gateAuthorityConfig } from './gate-authority.ts';
import { testLink } from './testing/test-link.ts';

/** The edge deciding at the gate: a real broker, a real cloud over the EdgeLink, and its outage. */
const fx = liveFixture();
let cloud: TestCloud;
const dirs: string[] = [];

beforeAll(async () => {
  cloud = await startTestCloud('edge-gate-authority');
  (await setUpStore(cloud)).disconnect();
});
afterAll(async () => {
  await cloud?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function awaitTrue(what: string, ok: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the edge as the gate’s authority', () => {
  it('opens with the cloud’s visit; while the cloud is away admits a good code (reported when it returns) and its party’s members on it and denies a forged or expired one', async () => {
    const edge = await addDevice(cloud, 'reference', 'edge');
    const dir = mkdtempSync(join(tmpdir(), 'walkout-gate-authority-'));
    dirs.push(dir);
    const link = testLink(cloud, edge, dir, createLogger('gate-authority-test', { level: 'silent' }));
    await until(() => link.status().connected && link.offlineGate().hasKeys(), 'the link and the keys');

    const clientId = `${fx.storeId}-edge-gate`;
    const input = await connectLiveInput(fx.edgeOptions(clientId));
    const commands = connectGateCommands({
      url: fx.url(),
      credentials: `${fx.login('auth-1').username}:${fx.login('auth-1').password}`,
      storeId: fx.storeId,
      clientId: `${fx.storeId}-authority`,
      log: recordingLogger(),
    });
    const log = recordingLogger();
    const gated = new GateAuthorityInput(input, gateAuthorityConfig({ askTimeoutMs: 2_000 }), {
      link,
      offline: link.offlineGate(),
      publish: (c) => commands.publish(c),
      log,
      nowMs: () => cloud.clock.ms,
    });
    // What the loop would hand the fusion.
    const handed: EdgeInput[] = [];
    const pumping = (async () => {
      for (let i = await gated.next(); i; i = await gated.next()) handed.push(i);
    })();
    const fusionGot = (kind: string) =>
      handed.flatMap((i) => (i.kind === 'device' && i.message.kind === kind ? [i.message.payload] : []));
    // The barrier: a gate controller's account, receiving the commands it executes.
    const barrier: GateCommand[] = [];
    const gateCtl = await fx.device('gate-ctl');
    gateCtl.on('message', (_t, body) => barrier.push(JSON.parse(body.toString())));
    await gateCtl.subscribeAsync(topics.gateCommand(fx.storeId, 'g1'), { qos: 1 });
    const scanner = await fx.device('S1');
    let n = 0;
    const scan = async (qr: string): Promise<GateCommand> => {
      n += 1;
      const s: GateScan = { scanId: `g1-scan-${n}`, gateId: 'g1', scannerId: 'S1', tsMs: cloud.clock.ms, qr };
      await scanner.publishAsync(topics.gateScan(fx.storeId, 'g1'), JSON.stringify(s), { qos: 1 });
      await until(() => barrier.some((c) => c.scanId === s.scanId), `the command for ${s.scanId}`);
      return barrier.find((c) => c.scanId === s.scanId)!;
    };

    try {
      // The cloud decides.
      const shopper = await newShopper(cloud);
      const opened = await scan(await entryCode(cloud, shopper.token, 1));
      const { rows } = await cloud.ctx.db.query<{ id: string }>('select id from visits where payer_id = $1', [
        shopper.id,
      ]);
      expect(rows).toHaveLength(1);
      expect(opened).toMatchObject({ action: 'open', scanId: 'g1-scan-1', visitId: rows[0]!.id, party: 2 });
      // The scan, then its command, reach the fusion once, though the broker echoes the command.
      await new Promise((r) => setTimeout(r, 300));
      expect(fusionGot('gateScan').map((s) => (s as GateScan).scanId)).toEqual(['g1-scan-1']);
      expect(fusionGot('gateCommand')).toEqual([opened]);

      // Codes issued while the cloud is up; the expired one was issued 40 s ago.
      const offlineShopper = await newShopper(cloud);
      const good = await entryCode(cloud, offlineShopper.token, 2);
      const [h, p, sig] = (await entryCode(cloud, (await newShopper(cloud)).token)).split('.') as [
        string,
        string,
        string,
      ];
      const forged = `${h}.${p}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
      cloud.clock.advance(-40_000);
      const expired = await entryCode(cloud, (await newShopper(cloud)).token);
      cloud.clock.advance(40_000);

      const down = await cloud.down();
      await until(() => !link.status().connected, 'the link to notice');
      const admitted = await scan(good);
      expect(admitted).toMatchObject({ action: 'open', reason: 'offline', party: 3 });
      // The payer scans the code again for each companion: onto the same visit, then no more.
      for (let k = 0; k < 2; k++)
        expect(await scan(good)).toMatchObject({
          action: 'open',
          reason: 'offline',
          visitId: admitted.visitId,
          party: 3,
        });
      expect(await scan(good)).toMatchObject({ action: 'deny', reason: 'replayed' });
      expect(await scan(forged)).toMatchObject({ action: 'deny', reason: 'bad_signature' });
      expect(await scan(expired)).toMatchObject({ action: 'deny', reason: 'expired' });
      expect(gated.decisions()).toEqual({ cloud: 1, offline: 3, offlineDenied: 3, unrecorded: 0 });
      expect(
        log.lines.filter((l) => l.msg === 'gate scan denied offline').map((l) => l.fields.reason),
      ).toEqual(['replayed', 'bad_signature', 'expired']);

      // Back: the offline entry becomes the shopper's visit under the edge's id.
      cloud = await down.up();
      await awaitTrue('the offline entry at the cloud', async () => {
        const v = await cloud.ctx.db.query('select id from visits where payer_id = $1', [offlineShopper.id]);
        return v.rows.length > 0;
      });
      const v = await cloud.ctx.db.query<{ id: string }>('select id from visits where payer_id = $1', [
        offlineShopper.id,
      ]);
      expect(v.rows).toEqual([{ id: admitted.visitId }]);
      expect(fusionGot('gateCommand').map((c) => (c as GateCommand).scanId)).toEqual([
        'g1-scan-1',
        'g1-scan-2',
        'g1-scan-3',
        'g1-scan-4',
        'g1-scan-5',
        'g1-scan-6',
        'g1-scan-7',
      ]);
    } finally {
      await gated.close();
      await pumping;
      await commands.close();
      await link.close();
      await fx.forgetSession(clientId);
    }
  }, 19_000);
});
