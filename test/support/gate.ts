import { afterAll, beforeAll } from 'vitest';
import { createDevice, createStore } from '../../cloud/stores/devices.ts';
import { startTestCloud, type TestCloud } from './cloud.ts';

/** A fresh entry code of a signed-in shopper, as the app asks for it. */
export async function entryCode(cloud: TestCloud, token: string, companions = 0): Promise<string> {
  const r = await cloud.call('POST', '/v1/me/entry-codes', { token, body: { companions } });
  if (r.status !== 201) throw new Error(`entry code refused: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.code;
}

/** A shopper's visits as payer, oldest first, with how many holds each has. */
export async function visitsOf(cloud: TestCloud, shopperId: string) {
  const { rows } = await cloud.ctx.db.query<{ id: string; status: string; holds: number }>(
    `select v.id, v.status, (select count(*)::int from payments p where p.visit_id = v.id and p.kind = 'hold') as holds
     from visits v where v.payer_id = $1 order by v.opened_at`,
    [shopperId],
  );
  return rows;
}

/**
 * What the gate-retry and gate-resume tests share: a cloud whose gates may ask again for 60 s
 * (GATE_RETRY_WINDOW_S), the stores `west` (its gate controller's login in `gate`) and `harbour`
 * (in `otherStoreGate`) and any `more` stores, and the calls a gate and the tests make. Call once
 * per test file, at its top: it registers the hooks that start and stop the cloud. `restart()`
 * restarts the cloud (as a crash would) and the bench's calls follow it.
 */
export interface GateBench {
  cloud: TestCloud;
  gate: string;
  otherStoreGate: string;
  restart(): Promise<TestCloud>;
  codeFor(token: string, companions?: number): Promise<string>;
  scan: (qr: string, gateId?: string, basic?: string) => ReturnType<TestCloud['call']>;
  visitsOf(shopperId: string): ReturnType<typeof visitsOf>;
}

export function gateBench(
  label: string,
  more: { id: string; name: string; capacity?: number }[] = [],
): GateBench {
  const bench: GateBench = {
    cloud: undefined as unknown as TestCloud,
    gate: '',
    otherStoreGate: '',
    async restart(): Promise<TestCloud> {
      bench.cloud = await bench.cloud.restart();
      return bench.cloud;
    },
    codeFor: (token: string, companions = 0) => entryCode(bench.cloud, token, companions),
    /** A gate controller's scan over HTTP: of gate-1 of `west` unless told otherwise. */
    scan: (qr: string, gateId = 'gate-1', basic = bench.gate) =>
      bench.cloud.call('POST', `/v1/gates/${gateId}/scans`, { basic, body: { qr } }),
    visitsOf: (shopperId: string) => visitsOf(bench.cloud, shopperId),
  };
  beforeAll(async () => {
    bench.cloud = await startTestCloud(label, { GATE_RETRY_WINDOW_S: '60' });
    for (const s of [{ id: 'west', name: 'West' }, { id: 'harbour', name: 'Harbour' }, ...more])
      await createStore(bench.cloud.ctx.db, s);
    const d = await createDevice(bench.cloud.ctx.db, 'west', 'gate');
    bench.gate = `${d.id}:${d.secret}`;
    const o = await createDevice(bench.cloud.ctx.db, 'harbour', 'gate');
    bench.otherStoreGate = `${o.id}:${o.secret}`;
  });
  afterAll(async () => bench.cloud?.stop());
  return bench;
}
