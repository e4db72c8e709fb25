/**
 * Plate stock from the loop to the broker: a short simulator recording (no cameras) replayed through
 * the real loop and fusion, publishing to the real Mosquitto; a subscriber sees every plate stated
 * once at the start as the planogram stocks it, and the plates shoppers picked from with the stock
 * the truth says they left.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectDynsecAuthority,
  type MqttAuthority,
  parseBrokerLogin,
  provisionClient,
} from '../../platform/mqtt-authority.ts';
import type { EdgePlate } from '../../proto/mqtt/payloads.ts';
import { decodeMessage } from '../../proto/mqtt/payloads.ts';
import { filters } from '../../proto/mqtt/topics.ts';
import { FusionConfig } from '../fusion/config.ts';
import { runLoop } from '../loop.ts';
import { buildFusion } from '../wiring.ts';
import { createLivePublisher } from './live-connection.ts';
import { loadRecordingStore } from './recording-store.ts';
import { ReplayInput } from './replay-input.ts';
import { recordingLogger } from './test-log.ts';

const url = process.env.MQTT_URL;
const adminLogin = process.env.MQTT_ADMIN;
const root = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);

describe.skipIf(!url || !adminLogin)('plate stock on MQTT', () => {
  let authority: MqttAuthority;
  let dir: string;
  const usernames: string[] = [];
  let observer: MqttClient | undefined;

  beforeAll(async () => {
    authority = await connectDynsecAuthority({ url: url!, admin: parseBrokerLogin(adminLogin!) });
    dir = mkdtempSync(join(tmpdir(), 'walkout-plates-live-'));
    await run(
      'node',
      [
        ...['--import', 'tsx', 'simulator/cli/sim.ts', '--no-progress', '--no-cameras'],
        ...['--scenario', 'baseline', '--seed', '3', '--minutes', '0.5', '--record', dir, '--out', dir],
      ],
      { cwd: root, env: { ...process.env, LOG_LEVEL: 'warn' } },
    );
  }, 60_000);
  afterAll(async () => {
    await observer?.endAsync(true);
    await authority?.revokeAll(usernames);
    await authority?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('states every plate at the start and the picked plates with what the shoppers left', async () => {
    // A store id of its own: the broker is shared.
    const storeId = `plates-${randomUUID().slice(0, 8)}`;
    const login = async (role: 'edge' | 'observer', deviceId: string) => {
      const username = `${storeId}/${deviceId}/${randomUUID().slice(0, 8)}`;
      usernames.push(username);
      return provisionClient(authority, username, { role, storeId, deviceId });
    };
    const got: EdgePlate[] = [];
    const invalid: string[] = [];
    observer = await mqtt.connectAsync(url!, { ...(await login('observer', 'obs')), reconnectPeriod: 0 });
    observer.on('message', (topic, body) => {
      try {
        const m = decodeMessage(topic, body);
        if (m.kind === 'edgePlates') got.push(m.payload);
      } catch (err) {
        invalid.push(`${topic}: ${(err as Error).message}`);
      }
    });
    await observer.subscribeAsync(filters.all(storeId), { qos: 1 });

    const { layout, catalog } = loadRecordingStore(dir);
    const log = recordingLogger();
    const publisher = createLivePublisher({
      url: url!,
      login: await login('edge', 'edge-1'),
      storeId,
      edgeId: 'edge-1',
      log,
    });
    const fusion = buildFusion(layout, catalog, { fusion: FusionConfig.parse({}), weight: {}, tracker: {} });
    await runLoop({
      input: new ReplayInput({ dir, log, detectFps: 5 }),
      // A recording without cameras gives the detector nothing.
      detector: {
        detect: () => Promise.reject(new Error('no frames in this recording')),
        close: async () => {},
      },
      fusion,
      link: null,
      publisher,
      log,
      detectInFlight: 1,
    });
    await publisher.close();
    expect(invalid).toEqual([]);

    // At the start: every plate, `new`, stocked as the planogram says, settled.
    const firsts = new Map<string, EdgePlate>();
    for (const m of got) if (!firsts.has(m.plateId)) firsts.set(m.plateId, m);
    expect(firsts.size).toBe(layout.plates.length);
    const planned = new Map<string, Record<string, number>>();
    for (const f of layout.planogram)
      planned.set(f.plateId, { ...planned.get(f.plateId), [f.sku]: f.capacityUnits });
    for (const p of layout.plates) {
      const first = firsts.get(p.id)!;
      expect(first.type).toBe('new');
      expect(first.stable).toBe(true);
      const byWeight = Object.keys(first.stock).some(
        (sku) => catalog.items.find((i) => i.sku === sku)?.soldBy === 'weight',
      );
      if (!byWeight) expect(first.stock).toEqual(planned.get(p.id) ?? {});
    }
    // The picks: each picked plate's last stock is the planogram's less what the truth says left.
    const picks = readFileSync(join(dir, 'truth', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; plateId?: string; sku?: string; quantity?: number })
      .filter((e) => e.type === 'pick' || e.type === 'putback');
    expect(picks.length).toBeGreaterThan(0);
    const want = new Map<string, Record<string, number>>();
    for (const e of picks) {
      const stock = want.get(e.plateId!) ?? { ...planned.get(e.plateId!) };
      stock[e.sku!] = (stock[e.sku!] ?? 0) + (e.type === 'pick' ? -1 : 1) * (e.quantity ?? 1);
      want.set(e.plateId!, stock);
    }
    const last = new Map<string, EdgePlate>();
    for (const m of got) if (m.type !== 'end') last.set(m.plateId, m);
    for (const [plateId, stock] of want) {
      const updates = got.filter((m) => m.plateId === plateId && m.type === 'update');
      expect(updates.length, `${plateId} stated again after its change`).toBeGreaterThan(0);
      expect(last.get(plateId)?.stock, `stock of ${plateId}`).toEqual(stock);
    }
    // The publisher ended every plate at close.
    expect(got.filter((m) => m.type === 'end')).toHaveLength(layout.plates.length);
  }, 60_000);
});
