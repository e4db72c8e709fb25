import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCatalog } from '../cloud/stores/catalog.ts';
import { createDevice, createStore } from '../cloud/stores/devices.ts';
import { createLogger } from '../platform/log.ts';
import type { GateCommand } from '../proto/index.ts';
import { systemWallClock } from '../simulator/core/clock.ts';
import { createCloudApp } from '../simulator/io/cloud-app.ts';
import { linkCloud } from '../simulator/io/cloud-link.ts';
import type { DeviceMessage } from '../simulator/run/engine.ts';
import { runSession } from '../simulator/run/session.ts';
import { loadScenario } from '../simulator/scenario/load.ts';
import type { TruthEvent, Visit } from '../simulator/world/types.ts';
import { startTestCloud, type TestCloud } from './support/cloud.ts';

let cloud: TestCloud;
let gateCredentials: string;
// Groups (one code for the party), tailgaters (no code at all), and staff, who are accounts too.
const groups = loadScenario('groups-and-handoffs');
const loaded = {
  ...groups,
  scenario: { ...groups.scenario, arrivals: { ...groups.scenario.arrivals, staffVisitsPerHour: 90 } },
};
const storeId = loaded.layout.storeId;

beforeAll(async () => {
  cloud = await startTestCloud('sim_shoppers');
  await createStore(cloud.ctx.db, { id: storeId, name: loaded.layout.name });
  await importCatalog(cloud.ctx.db, storeId, loaded.catalog, cloud.clock.now());
  const gate = await createDevice(cloud.ctx.db, storeId, 'gate');
  gateCredentials = `${gate.id}:${gate.secret}`;
});
afterAll(async () => cloud?.stop());

describe('simulated shoppers as the cloud’s shoppers', () => {
  it('sign up through the API, and every party enters on a cloud gate decision, as the ground truth says', async () => {
    const out = mkdtempSync(join(tmpdir(), 'walkout-cloud-sim-'));
    const link = linkCloud({
      baseUrl: cloud.httpUrl,
      gateCredentials,
      layout: loaded.layout,
      log: createLogger('sim-cloud-test'),
    });
    const messages: DeviceMessage[] = [];
    const summary = await runSession({
      loaded,
      seed: 2,
      minutes: 2,
      out,
      app: link.app,
      authority: link.authority,
      io: link.inFlight,
      sink: (engine) =>
        link.gates(
          {
            publish: (m) => {
              if (m.kind === 'gateCommand' || m.kind === 'gateScan') messages.push(m);
            },
            published: 0,
            close: async () => {},
          },
          engine,
        ),
      speed: null,
      wall: systemWallClock,
      mode: 'record',
    });
    expect(summary).toMatchObject({ aborted: false, leftInside: 0 });

    const visits: Visit[] = JSON.parse(readFileSync(join(out, 'truth', 'visits.json'), 'utf8'));
    const events: TruthEvent[] = readFileSync(join(out, 'truth', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // Tailgaters slip in behind a party without a code; everyone else's party showed one.
    const coded = visits.filter((v) => v.kind !== 'tailgater');
    expect(coded.length).toBeGreaterThanOrEqual(3);
    expect(coded.some((v) => v.memberIds.length > 1)).toBe(true);
    expect(coded.some((v) => v.kind === 'staff')).toBe(true);
    expect(visits.some((v) => v.kind === 'tailgater')).toBe(true);

    const db = cloud.ctx.db;
    const shoppers = await db.query<{ id: string; email: string }>('select id, email from shoppers');
    expect(shoppers.rows).toHaveLength(link.app.accounts);
    const emails = new Set(shoppers.rows.map((s) => s.email));
    for (const v of coded) expect(emails.has(link.app.emailOf(v.payerId)), v.payerId).toBe(true);
    const methods = await db.query(
      'select distinct shopper_id from payment_methods where removed_at is null',
    );
    expect(methods.rows).toHaveLength(shoppers.rows.length);

    // One decision per party, and no denial: the scenario turns nobody away on purpose.
    const decisions = await db.query<{ decision: string; reason: string | null; store_id: string }>(
      'select decision, reason, store_id from gate_decisions',
    );
    expect(decisions.rows.filter((d) => d.decision !== 'open')).toEqual([]);
    expect(decisions.rows).toHaveLength(coded.length);
    expect(new Set(decisions.rows.map((d) => d.store_id))).toEqual(new Set([storeId]));

    const cloudVisits = await db.query<{ email: string; companions: number; status: string }>(
      'select s.email, v.companions, v.status from visits v join shoppers s on s.id = v.payer_id',
    );
    const truthParty = new Map(coded.map((v) => [link.app.emailOf(v.payerId), v.memberIds.length - 1]));
    expect(
      cloudVisits.rows.map((v) => [v.email, v.companions, v.status]).sort(),
      'each visit with its companions',
    ).toEqual([...truthParty].map(([email, companions]) => [email, companions, 'open']).sort());

    // The ground truth's entries are the cloud's: its parties through the gate, plus the tailgaters.
    const entered = events.filter((e) => e.type === 'enter');
    const scanned = entered.filter((e) => e.scanId !== null);
    const party = cloudVisits.rows.reduce((n, v) => n + 1 + v.companions, 0);
    expect(scanned).toHaveLength(party);
    expect(entered.length - scanned.length).toBe(events.filter((e) => e.type === 'tailgate').length);
    const commands = messages.filter((m) => m.kind === 'gateCommand').map((m) => m.payload as GateCommand);
    expect(commands.filter((c) => c.action === 'open')).toHaveLength(party);
    expect(messages.filter((m) => m.kind === 'gateScan')).toHaveLength(party);
  });

  it('renews an expired session, once or on a refusal, and turns an unreachable cloud into no code', async () => {
    const request = (personId: string) => ({
      personId,
      visitId: 'v1',
      role: 'shopper' as const,
      companions: 0,
      tsMs: 0,
    });
    const codeFor = async (app: ReturnType<typeof createCloudApp>, personId: string) =>
      String(await app.requestEntryCode(request(personId)));
    // Renewed ahead of expiry, by the app's clock (here the cloud's).
    const ahead = createCloudApp({ baseUrl: cloud.httpUrl, now: () => cloud.clock.ms });
    // Renewed when the cloud refuses the token, its own clock unaware of the cloud's.
    const refused = createCloudApp({ baseUrl: cloud.httpUrl });
    const first = [await codeFor(ahead, 'p1'), await codeFor(refused, 'p1')];
    cloud.clock.advance(3600_000);
    const second = [await codeFor(ahead, 'p1'), await codeFor(refused, 'p1')];
    expect(new Set([...first, ...second]).size).toBe(4);
    expect([ahead.accounts, refused.accounts]).toEqual([1, 1]);

    const nowhere = createCloudApp({ baseUrl: 'http://127.0.0.1:9' });
    await expect(nowhere.requestEntryCode(request('p2'))).rejects.toMatchObject({
      code: 'CLOUD_REQUEST_FAILED',
    });
  });
});
