import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrokerLogin,
  connectDynsecAuthority,
  type MqttAuthority,
  parseBrokerLogin,
  provisionClient,
} from '../../platform/mqtt-authority.ts';
import { type DecodedMessage, decodeMessage } from '../../proto/mqtt/payloads.ts';
import { filters, topics } from '../../proto/mqtt/topics.ts';
import type { VisitCart } from '../stages.ts';
import type { Track } from '../types.ts';
import { createLivePublisher } from './live-connection.ts';
import { edgeWill, MqttLivePublisher } from './live-publisher.ts';

const url = process.env.MQTT_URL;
const adminLogin = process.env.MQTT_ADMIN;
/** Store-clock epoch of the tests: any fixed time works, the publisher reads no clock. */
const T0 = 1_767_600_000_000;

type LiveTrack = Track & { visitId?: string; memberNo?: number };
const track = (trackId: string, x: number, extra: Partial<LiveTrack> = {}): LiveTrack => ({
  trackId,
  floorXyM: [x, 2],
  velocityMps: [0.5, 0],
  state: 'confirmed',
  bornMs: T0,
  lastSeenMs: T0,
  bornXyM: [0, 0],
  ...extra,
});
const cartOf = (visitId: string, quantity: number): VisitCart => ({
  visitId,
  members: [
    {
      memberNo: 0,
      inside: true,
      lines: [{ sku: 'SKU-1', quantity, grams: 0, confidence: 0.9, evidence: [`G1S1@${T0}`] }],
    },
  ],
  needsReview: false,
});

async function until(what: string, ok: () => boolean, timeoutMs = 3_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const settle = () => new Promise((r) => setTimeout(r, 300));

describe.skipIf(!url || !adminLogin)('MqttLivePublisher on Mosquitto', () => {
  let authority: MqttAuthority;
  const usernames: string[] = [];
  const clients: MqttClient[] = [];
  const publishers: MqttLivePublisher[] = [];
  /** Every message an observer received that decodeMessage refused: the contract says none. */
  const invalid: string[] = [];
  const storeId = `live-${randomUUID().slice(0, 8)}`;
  const edgeLogins = new Map<string, BrokerLogin>();

  beforeAll(async () => {
    authority = await connectDynsecAuthority({ url: url!, admin: parseBrokerLogin(adminLogin!) });
  });
  afterEach(async () => {
    await Promise.all(publishers.splice(0).map((p) => p.close()));
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    expect(invalid.splice(0)).toEqual([]);
    // Mosquitto is shared and keeps retained messages: clear each edge's status as its own account.
    for (const [edgeId, login] of edgeLogins) {
      const c = await mqtt.connectAsync(url!, { ...login, reconnectPeriod: 0 });
      await c.publishAsync(topics.deviceStatus(storeId, edgeId), '', { qos: 1, retain: true });
      await c.endAsync();
    }
    edgeLogins.clear();
  });
  afterAll(async () => {
    await authority.revokeAll(usernames);
    await authority.close();
  });

  async function account(role: 'edge' | 'observer', deviceId: string): Promise<BrokerLogin> {
    const username = `${storeId}/${deviceId}/${randomUUID().slice(0, 8)}`;
    usernames.push(username);
    const login = await provisionClient(authority, username, { role, storeId, deviceId });
    if (role === 'edge') edgeLogins.set(deviceId, login);
    return login;
  }

  /** A subscriber to the whole store; every message is decoded as it arrives. */
  async function observe() {
    const got: (DecodedMessage & { retained: boolean })[] = [];
    const client = await mqtt.connectAsync(url!, {
      ...(await account('observer', `obs-${randomUUID()}`)),
      reconnectPeriod: 0,
    });
    clients.push(client);
    client.on('message', (topic, body, packet) => {
      try {
        got.push({ ...decodeMessage(topic, body), retained: packet.retain });
      } catch (err) {
        invalid.push(`${topic}: ${(err as Error).message}`);
      }
    });
    await client.subscribeAsync(filters.all(storeId), { qos: 1 });
    const of = <K extends DecodedMessage['kind']>(kind: K) =>
      got.filter((m): m is Extract<typeof m, { kind: K }> => m.kind === kind);
    const statuses = (edgeId: string) =>
      of('deviceStatus')
        .filter((m) => m.id === edgeId)
        .map((m) => m.payload.status);
    return { got, of, statuses };
  }

  async function publisher(
    edgeId: string,
    config: ConstructorParameters<typeof MqttLivePublisher>[0]['config'] = {},
  ) {
    const login = await account('edge', edgeId);
    const p = createLivePublisher({ url: url!, login, storeId, edgeId, config });
    publishers.push(p);
    return p;
  }

  it("ends a track that left the tracker's set at once, and every track when statements stop (watchdog)", async () => {
    const obs = await observe();
    const p = await publisher('edge-quiet');
    await until('online', () => obs.statuses('edge-quiet').includes('online'));
    for (let i = 0; i <= 10; i++) {
      const t2 = i < 5 ? [track('t2', 9, { visitId: 'v-1', memberNo: 0 })] : [];
      p.tracks(T0 + i * 100, [track('t1', i * 0.1), ...t2]);
    }
    // No statement since T0 + 1000: the watchdog's period is 2 s.
    p.tick(T0 + 2_900);
    await settle();
    expect(obs.of('edgeTracks').length).toBe(6);
    p.tick(T0 + 3_001);
    await until('the end of t1', () => obs.of('edgeTracks').length === 7);
    const life = (id: string) =>
      obs
        .of('edgeTracks')
        .flatMap((m) => m.payload.tracks.filter((t) => t.trackId === id).map((t) => t.type));
    expect(life('t1')).toEqual(['new', 'update', 'update', 'update', 'update', 'update', 'end']);
    // t2 was last stated at T0+400 (sent) and missing from the statement at T0+600.
    expect(life('t2')).toEqual(['new', 'update', 'update', 'end']);
    const t2 = obs.of('edgeTracks')[0]!.payload.tracks.find((t) => t.trackId === 't2');
    expect(t2).toMatchObject({ visitId: 'v-1', memberNo: 0, floorXyM: [9, 2] });
    const last = obs.of('edgeTracks').at(-1)!.payload;
    expect(last.tsMs).toBe(T0 + 3_001);
    expect(last.tracks).toEqual([expect.objectContaining({ type: 'end', trackId: 't1', floorXyM: [1, 2] })]);
    // Quiet stays quiet: nothing more to end.
    p.tick(T0 + 10_000);
    await settle();
    expect(obs.of('edgeTracks').length).toBe(7);
  });

  it('ends what went quiet with an injected timer when the caller never ticks', async () => {
    const obs = await observe();
    let storeNowMs = T0;
    const login = await account('edge', 'edge-timer');
    const p = createLivePublisher({
      url: url!,
      login,
      storeId,
      edgeId: 'edge-timer',
      config: { cartQuietMs: 1_000 },
      timer: { clock: () => storeNowMs, everyMs: 20 },
    });
    publishers.push(p);
    await until('online', () => obs.statuses('edge-timer').includes('online'));
    const cart = cartOf('v-t', 1);
    p.cart(T0, cart, false);
    p.tracks(T0, [track('t1', 0)]);
    // The caller's own objects change after the call: what was published must not.
    cart.members[0]!.lines[0]!.quantity = 99;
    await until(
      'the new track and cart',
      () => obs.of('edgeTracks').length + obs.of('edgeCarts').length === 2,
    );
    storeNowMs = T0 + 2_500;
    await until('the ends', () => obs.of('edgeTracks').length + obs.of('edgeCarts').length === 4);
    expect(obs.of('edgeTracks').map((m) => m.payload.tracks[0]!.type)).toEqual(['new', 'end']);
    const carts = obs.of('edgeCarts').map((m) => m.payload);
    expect(carts.map((c) => `${c.type} ${c.tsMs - T0} ${c.members[0]!.lines[0]!.quantity}`)).toEqual([
      'new 0 1',
      'end 2500 1',
    ]);
  });

  it("publishes the edge's counters once per stats period of store time, with the visits whose cart is live", async () => {
    const obs = await observe();
    const p = await publisher('edge-stats', { statsEveryMs: 1_000 });
    await until('online', () => obs.statuses('edge-stats').includes('online'));
    let reads = 0;
    // What the loop passes on is the link's and the sources' own status, which say more than the
    // contract: the message must carry only its fields (the schema is strict; this was once refused).
    const linkStatus = { connected: true, lastSeq: 2, ackedSeq: 1, pending: 1, attempt: 3 };
    const counters = (framesDetected: number) => () => {
      reads++;
      return {
        cameras: { 'cam-1': { received: 30, processed: framesDetected, dropped: 30 - framesDetected } },
        rejected: { PAYLOAD_INVALID: 1 },
        loop: { inputs: 40, framesDetected, deviceMessages: 10, reports: 2, detectionErrors: 0 },
        link: linkStatus,
      };
    };
    p.cart(T0, cartOf('v-open', 1), false);
    p.cart(T0, cartOf('v-done', 1), false);
    p.cart(T0, cartOf('v-done', 1), true);
    // Offered every 250 ms of store time for 2.5 s: three messages (0, 1 s, 2 s), read only for those.
    for (let i = 0; i <= 10; i++) p.publishStats(T0 + i * 250, counters(i));
    await until('three stats', () => obs.of('edgeStats').length === 3);
    await settle();
    expect(reads).toBe(3);
    const got = obs.of('edgeStats').map((m) => m.payload);
    expect(got.map((s) => `${s.tsMs - T0} ${s.loop.framesDetected} ${s.cameras['cam-1']!.dropped}`)).toEqual([
      '0 0 30',
      '1000 4 26',
      '2000 8 22',
    ]);
    expect(got[0]).toMatchObject({
      edgeId: 'edge-stats',
      visitsOpen: 1,
      link: { pending: 1 },
      rejected: { PAYLOAD_INVALID: 1 },
    });
    expect(got[0]!.live.errors).toBe(0);
  });

  it('publishes tracks at the configured rate however often the loop states them', async () => {
    const obs = await observe();
    const fast = await publisher('edge-rate5');
    const slow = await publisher('edge-rate2', { trackRateHz: 2 });
    await until(
      'online',
      () => obs.statuses('edge-rate5').includes('online') && obs.statuses('edge-rate2').includes('online'),
    );
    // 100 statements a second for 2 s of store time.
    for (let ms = 0; ms < 2_000; ms += 10) {
      fast.tracks(T0 + ms, [track('t', ms / 1000)]);
      slow.tracks(T0 + ms, [track('t', ms / 1000)]);
    }
    await settle();
    const times = (edgeId: string) =>
      obs
        .of('edgeTracks')
        .filter((m) => m.id === edgeId)
        .map((m) => m.payload.tsMs - T0);
    expect(times('edge-rate5')).toEqual([0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
    expect(times('edge-rate2')).toEqual([0, 500, 1000, 1500]);
    // 200 statements: 10 sent, the last one waits for its slot (at T0 + 2000), the rest replaced.
    expect(fast.stats()).toMatchObject({ trackMessages: 10, trackStatementsCoalesced: 189 });
  });

  it('follows a cart, a plate and an alert through their lives, and ends them all before saying offline', async () => {
    const obs = await observe();
    const p = await publisher('edge-cart');
    await until('online', () => obs.statuses('edge-cart').includes('online'));
    p.cart(T0, cartOf('v-9', 1), false);
    p.cart(T0 + 100, cartOf('v-9', 1), false); // unchanged: nothing
    p.cart(T0 + 200, cartOf('v-9', 2), false);
    p.cart(T0 + 300, cartOf('v-9', 2), true);
    p.plates(T0, [{ plateId: 'P1', stable: true, stock: { 'SKU-1': 10 } }]);
    p.plates(T0 + 100, [{ plateId: 'P1', stable: true, stock: { 'SKU-1': 10 } }]); // unchanged
    p.plateHealth(T0 + 200, { plateId: 'P1', status: 'dropout', sinceMs: T0 + 150 });
    p.alert({
      alertId: 'a-1',
      kind: 'tailgate',
      tsMs: T0 + 250,
      detail: 'two bodies, one scan',
      visitId: 'v-9',
    });
    p.alert({ alertId: 'a-2', kind: 'sensor-fault', tsMs: T0 + 260, detail: 'P1 dropout', plateId: 'P1' });
    p.tracks(T0 + 300, [track('t1', 1)]);
    p.tracks(T0 + 60_000, [track('t1', 2)]);
    // a-1 is not raised again: ended by the watchdog after its 60 s; a-2 is, and lives on.
    p.alert({ alertId: 'a-2', kind: 'sensor-fault', tsMs: T0 + 60_000, detail: 'P1 dropout', plateId: 'P1' });
    p.tick(T0 + 60_300);
    await until('the watchdog ended a-1', () => obs.of('edgeAlerts').length === 3);
    const carts = obs.of('edgeCarts').map((m) => m.payload);
    expect(carts.map((c) => c.type)).toEqual(['new', 'update', 'end']);
    expect(carts.map((c) => c.members[0]!.lines[0]!.quantity)).toEqual([1, 2, 2]);
    expect(carts[2]).toMatchObject({ visitId: 'v-9', tsMs: T0 + 300, needsReview: false });
    expect(obs.of('edgeAlerts').map((m) => `${m.payload.type} ${m.payload.alertId}`)).toEqual([
      'new a-1',
      'new a-2',
      'end a-1',
    ]);
    expect(obs.of('edgeAlerts')[0]!.payload.refs).toEqual({ visitId: 'v-9' });

    const before = obs.got.length;
    await p.close();
    await until('offline', () => obs.statuses('edge-cart').at(-1) === 'offline');
    const after = obs.got.slice(before);
    expect(after.map((m) => `${m.kind} ${'type' in m.payload ? m.payload.type : ''}`)).toEqual([
      'edgeTracks ',
      'edgePlates end',
      'edgeAlerts end',
      'deviceStatus ',
    ]);
    expect(after[0]!.kind === 'edgeTracks' && after[0]!.payload.tracks.map((t) => t.type)).toEqual(['end']);
    // The plate's life: new, the health report, the slow refresh at T0+60 s, the end at close.
    const plate = obs.of('edgePlates').map((m) => m.payload);
    expect(plate.map((m) => m.type)).toEqual(['new', 'update', 'update', 'end']);
    expect(plate[1]!.health).toEqual({ status: 'dropout', sinceMs: T0 + 150 });
  });

  it('keeps a retained online status, and the broker says offline for it when its connection dies', async () => {
    const edgeId = 'edge-will';
    const login = await account('edge', edgeId);
    const client = mqtt.connect(url!, { ...login, reconnectPeriod: 1_000, will: edgeWill(storeId, edgeId) });
    client.on('error', () => {});
    const p = new MqttLivePublisher({ client, storeId, edgeId, ownsClient: true, config: { maxQueued: 5 } });
    publishers.push(p);
    const first = await observe();
    await until('online', () => first.statuses(edgeId).includes('online'));
    // A subscriber arriving later learns at once that the edge is alive: the status is retained.
    const late = await observe();
    await until('retained online', () => late.statuses(edgeId).length === 1);
    expect(late.of('deviceStatus')[0]).toMatchObject({
      retained: true,
      payload: { kind: 'edge', status: 'online' },
    });
    p.tracks(T0, [track('t1', 0)]);
    p.cart(T0, cartOf('v-1', 1), false);
    await until(
      'the first track and cart',
      () => first.of('edgeTracks').length + first.of('edgeCarts').length === 2,
    );

    // Kill the socket without DISCONNECT, as a crash or a pulled cable would.
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    client.stream.destroy();
    await closed;
    await until("the will's offline", () => first.statuses(edgeId).at(-1) === 'offline');
    // While the broker is away the loop goes on, and nothing piles up: 10 alerts fill the queue
    // (bound 5), then the cart's 50 changes take one place and the tracks' 50 statements none.
    const received = first.got.length;
    for (let i = 1; i <= 10; i++)
      p.alert({ alertId: `a-${i}`, kind: 'unattributed-event', tsMs: T0 + i, detail: 'nobody near' });
    for (let i = 1; i <= 50; i++) {
      p.tracks(T0 + i * 100, [track('t1', i), ...(i < 40 ? [track('t2', -i)] : [])]);
      p.cart(T0 + i * 100, cartOf('v-1', i + 1), false);
    }
    expect(p.stats()).toMatchObject({ queued: 5, dropped: 6, coalesced: 49 });
    expect(first.got.length).toBe(received);

    await until('online again', () => first.statuses(edgeId).at(-1) === 'online', 5_000);
    await settle();
    const since = first.got.slice(received);
    // One track message: the newest statement, judged against what subscribers last saw (t1
    // alone: t2 was born and died while the broker was away).
    const tracks = since.flatMap((m) => (m.kind === 'edgeTracks' ? [m.payload.tracks] : []));
    expect(tracks.map((ts) => ts.map((t) => `${t.type} ${t.trackId} ${t.floorXyM[0]}`))).toEqual([
      ['update t1 50'],
    ]);
    const carts = since.flatMap((m) => (m.kind === 'edgeCarts' ? [m.payload] : []));
    expect(carts.map((c) => `${c.type} ${c.members[0]!.lines[0]!.quantity}`)).toEqual(['update 51']);
    const alerts = since.flatMap((m) => (m.kind === 'edgeAlerts' ? [m.payload.alertId] : []));
    expect(alerts).toEqual(['a-7', 'a-8', 'a-9', 'a-10']);
  });

  it("refuses the edge's account publishing as another edge", async () => {
    const obs = await observe();
    const login = await account('edge', 'edge-own');
    const forger = await mqtt.connectAsync(url!, { ...login, reconnectPeriod: 0 });
    clients.push(forger);
    const body = (edgeId: string) =>
      JSON.stringify({ edgeId, type: 'new', tsMs: T0, alertId: 'x', kind: 'tailgate', detail: '', refs: {} });
    await forger.publishAsync(topics.edgeAlerts(storeId, 'edge-other'), body('edge-other'), { qos: 1 });
    await forger.publishAsync(topics.edgeAlerts(storeId, 'edge-own'), body('edge-own'), { qos: 1 });
    await settle();
    expect(obs.of('edgeAlerts').map((m) => m.id)).toEqual(['edge-own']);
  });
});
