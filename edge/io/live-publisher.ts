/**
 * The edge's live state over MQTT (docs/mqtt.md, "Live state"): tracks, carts, plates and alerts
 * as new/update/end events under walkout/{storeId}/edge/{edgeId}/, and the edge's availability as
 * a retained status with a last will. No call ever waits for the broker: the loop hands its state
 * over and goes on, and a slow or absent broker costs coalesced messages, never a stalled loop.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from '../../platform/log.ts';
import type {
  DeviceStatus,
  EdgeAlert,
  EdgeCart,
  EdgePlate,
  EdgeStats,
  EdgeTracks,
  TrackEvent,
} from '../../proto/mqtt/payloads.ts';
import { topics } from '../../proto/mqtt/topics.ts';
import type { Alert, EdgeCounters, LivePublisher, VisitCart } from '../stages.ts';
import type { PlateHealth, Track } from '../types.ts';
import { CoalescingQueue, type Outgoing } from './coalescing-queue.ts';
import { type LiveConfig, liveConfig } from './live-config.ts';
import { type LiveEvent, LiveObjects } from './live-events.ts';

type TrackValue = Omit<TrackEvent, 'type' | 'trackId'>;
type CartValue = Pick<EdgeCart, 'members' | 'needsReview'>;
type PlateValue = Pick<EdgePlate, 'stable' | 'stock' | 'health'>;
type AlertValue = Pick<EdgeAlert, 'kind' | 'detail' | 'refs'>;
type LiveTrack = Track & { visitId?: string; memberNo?: number };
/** A statement of every live track, waiting for its slot (rate) or for the socket (slow broker). */
interface TrackStatement {
  tsMs: number;
  tracks: readonly (readonly [string, TrackValue])[];
}

export interface LivePublisherStats {
  /** Track messages written; statements replaced before their turn (rate limit or slow broker). */
  trackMessages: number;
  trackStatementsCoalesced: number;
  /** Carts, plates and alerts acknowledged by the broker; replaced while waiting; dropped (queue full). */
  acknowledged: number;
  coalesced: number;
  dropped: number;
  queued: number;
  errors: number;
}

export interface MqttLivePublisherOptions {
  client: MqttClient;
  storeId: string;
  edgeId: string;
  config?: Partial<LiveConfig>;
  /** The publisher made the client and ends it at close; otherwise its maker does. */
  ownsClient?: boolean;
  /** Drives the watchdog with no help from the caller: `tick(clock())` every `everyMs`. */
  timer?: { clock: () => number; everyMs: number };
  log?: Logger;
}

const statusTopic = (storeId: string, edgeId: string) => topics.deviceStatus(storeId, edgeId);
const statusBody = (edgeId: string, status: DeviceStatus['status']) =>
  JSON.stringify({ deviceId: edgeId, kind: 'edge', status } satisfies DeviceStatus);

/** The MQTT last will an edge connects with: its status, retained, `offline`. */
export function edgeWill(storeId: string, edgeId: string): NonNullable<IClientOptions['will']> {
  return {
    topic: statusTopic(storeId, edgeId),
    payload: Buffer.from(statusBody(edgeId, 'offline')),
    qos: 1,
    retain: true,
  };
}

/**
 * The LivePublisher over one MQTT client. Times given to it are the store clock and only move
 * forward (a replay that starts over takes a new publisher): the watchdog compares them, and
 * `timer.clock` must be that same clock.
 */
export class MqttLivePublisher implements LivePublisher {
  private readonly cfg: LiveConfig;
  private readonly client: MqttClient;
  private readonly storeId: string;
  private readonly edgeId: string;
  private readonly tracksLive: LiveObjects<TrackValue>;
  private readonly carts: LiveObjects<CartValue>;
  private readonly platesLive: LiveObjects<PlateValue>;
  private readonly alerts: LiveObjects<AlertValue>;
  private readonly health = new Map<string, PlateHealth>();
  private readonly queue: CoalescingQueue;
  private readonly timer: NodeJS.Timeout | undefined;
  private pendingTracks: TrackStatement | null = null;
  private lastTracksStatedMs = Number.NEGATIVE_INFINITY;
  private nextTracksDueMs = Number.NEGATIVE_INFINITY;
  private tracksWriting = false;
  /** A track message's time came while the socket could not take it: it goes when it can. */
  private tracksOwed = false;
  private lastPlateRefreshMs = Number.NEGATIVE_INFINITY;
  private lastStatsMs = Number.NEGATIVE_INFINITY;
  private nowMs = 0;
  private inFlight = 0;
  /** Bumped at every (re)connection: acknowledgements of an earlier connection count no more. */
  private generation = 0;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private readonly counts = { trackMessages: 0, trackStatementsCoalesced: 0, acknowledged: 0, errors: 0 };

  constructor(private readonly opts: MqttLivePublisherOptions) {
    this.cfg = liveConfig(opts.config);
    this.client = opts.client;
    this.storeId = opts.storeId;
    this.edgeId = opts.edgeId;
    this.tracksLive = new LiveObjects(this.cfg.trackQuietMs);
    this.carts = new LiveObjects(this.cfg.cartQuietMs);
    this.platesLive = new LiveObjects(this.cfg.plateQuietMs);
    this.alerts = new LiveObjects(this.cfg.alertQuietMs);
    this.queue = new CoalescingQueue(this.cfg.maxQueued);
    this.client.on('connect', this.onConnect);
    this.client.on('close', this.onClose);
    if (this.client.connected) this.onConnect();
    if (opts.timer) {
      const { clock, everyMs } = opts.timer;
      this.timer = setInterval(() => this.tick(clock()), everyMs);
      this.timer.unref();
    }
  }

  tracks(tsMs: number, tracks: readonly LiveTrack[]): void {
    if (this.closing) return;
    if (this.pendingTracks) this.counts.trackStatementsCoalesced++;
    this.pendingTracks = { tsMs, tracks: tracks.map((t) => [t.trackId, trackValue(t)] as const) };
    this.lastTracksStatedMs = tsMs;
    this.tick(tsMs);
  }

  cart(tsMs: number, cart: VisitCart, ended: boolean): void {
    if (this.closing) return;
    // A copy: the caller may go on changing its cart while this one waits for the broker.
    const value: CartValue = { members: structuredClone(cart.members), needsReview: cart.needsReview };
    const stated = this.carts.state(cart.visitId, value, tsMs);
    if (stated) this.sendCart(tsMs, stated);
    if (ended) this.sendCart(tsMs, this.carts.end(cart.visitId));
    this.tick(tsMs);
  }

  plates(
    tsMs: number,
    plates: readonly { plateId: string; stable: boolean; stock: Record<string, number> }[],
  ): void {
    if (this.closing) return;
    for (const p of plates) {
      const health = this.health.get(p.plateId);
      const value: PlateValue = {
        stable: p.stable,
        stock: { ...p.stock },
        ...(health ? { health: healthOf(health) } : {}),
      };
      this.sendPlate(tsMs, this.platesLive.state(p.plateId, value, tsMs));
    }
    this.tick(tsMs);
  }

  /** Joins the plate's next message; a plate already live is published again at once. */
  plateHealth(tsMs: number, health: PlateHealth): void {
    if (this.closing) return;
    this.health.set(health.plateId, health);
    const current = this.platesLive.get(health.plateId);
    if (current)
      this.sendPlate(
        tsMs,
        this.platesLive.state(health.plateId, { ...current, health: healthOf(health) }, tsMs),
      );
    this.tick(tsMs);
  }

  /** Raises (or raises again, keeping it alive) an alert; it ends when not raised for its quiet period. */
  alert(alert: Alert): void {
    if (this.closing) return;
    const refs = {
      ...(alert.plateId ? { plateId: alert.plateId } : {}),
      ...(alert.trackId ? { trackId: alert.trackId } : {}),
      ...(alert.visitId ? { visitId: alert.visitId } : {}),
    };
    this.sendAlert(
      alert.tsMs,
      this.alerts.state(alert.alertId, { kind: alert.kind, detail: alert.detail, refs }, alert.tsMs),
    );
    this.tick(alert.tsMs);
  }

  /** Ends an alert whose condition is over, before its quiet period would. */
  endAlert(tsMs: number, alertId: string): void {
    if (this.closing) return;
    this.sendAlert(tsMs, this.alerts.end(alertId));
  }

  /**
   * The watchdog and the clock-driven sends, by store time: ends what went quiet, sends a track
   * statement whose slot has come, refreshes plates. Every input call runs it too.
   */
  tick(nowMs: number): void {
    if (this.closing) return;
    this.nowMs = Math.max(this.nowMs, nowMs);
    const now = this.nowMs;
    if (
      now - this.lastTracksStatedMs > this.cfg.trackQuietMs &&
      (this.tracksLive.size > 0 || this.pendingTracks)
    ) {
      this.pendingTracks = { tsMs: now, tracks: [] };
      this.writeTracks();
    } else if (this.pendingTracks && this.trackSlot(this.pendingTracks.tsMs)) this.writeTracks();
    for (const e of this.carts.expire(now)) this.sendCart(now, e);
    for (const e of this.platesLive.expire(now)) this.sendPlate(now, e);
    for (const e of this.alerts.expire(now)) this.sendAlert(now, e);
    if (now - this.lastPlateRefreshMs >= this.cfg.plateRefreshMs) {
      this.lastPlateRefreshMs = now;
      for (const e of this.platesLive.refresh()) this.sendPlate(now, e);
    }
  }

  /**
   * The edge's counters, QoS 0 and straight to the socket: each message replaces the last, so one
   * lost to a slow or absent broker costs nothing, and none waits in the queue behind carts.
   */
  publishStats(nowMs: number, read: () => EdgeCounters): void {
    if (this.closing) return;
    // A clock that went back (a replay started over) starts the period afresh.
    if (nowMs >= this.lastStatsMs && nowMs - this.lastStatsMs < this.cfg.statsEveryMs) return;
    this.lastStatsMs = nowMs;
    if (!this.client.connected) return;
    const { queued, coalesced, dropped, errors } = this.stats();
    const c = read();
    // Only the contract's fields (the schema is strict): a link's or a source's status says more.
    const { inputs, framesDetected, deviceMessages, reports, detectionErrors } = c.loop;
    const body: EdgeStats = {
      edgeId: this.edgeId,
      tsMs: Math.round(nowMs),
      cameras: Object.fromEntries(
        Object.entries(c.cameras).map(([id, f]) => [
          id,
          { received: f.received, processed: f.processed, dropped: f.dropped },
        ]),
      ),
      rejected: { ...c.rejected },
      loop: { inputs, framesDetected, deviceMessages, reports, detectionErrors },
      link: c.link
        ? {
            connected: c.link.connected,
            lastSeq: c.link.lastSeq,
            ackedSeq: c.link.ackedSeq,
            pending: c.link.pending,
          }
        : null,
      live: { queued, coalesced, dropped, errors },
      visitsOpen: this.carts.size,
    };
    this.client.publish(
      topics.edgeStats(this.storeId, this.edgeId),
      JSON.stringify(body),
      { qos: 0 },
      (err) => {
        if (err) this.failed('stats', err);
      },
    );
  }

  /** The publisher's own delivery counts (also in every EdgeStats message, as `live`). */
  stats(): LivePublisherStats {
    return {
      ...this.counts,
      coalesced: this.queue.coalesced,
      dropped: this.queue.dropped,
      queued: this.queue.size,
    };
  }

  /** Ends everything live, then says `offline`; a broker that does not answer in time is left. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      const now = this.nowMs;
      const deadline = Date.now() + this.cfg.closeTimeoutMs;
      const inTime = (p: Promise<void>) => Promise.race([p, sleep(deadline - Date.now())]);
      this.pendingTracks = null;
      const trackEnds = this.tracksLive.endAll();
      const tracksTopic = topics.edgeTracks(this.storeId, this.edgeId);
      if (trackEnds.length)
        this.queue.push('tracks', {
          topic: tracksTopic,
          type: 'end',
          body: this.tracksBody(now, trackEnds),
          batch: true,
        });
      for (const e of this.carts.endAll()) this.sendCart(now, e);
      for (const e of this.platesLive.endAll()) this.sendPlate(now, e);
      for (const e of this.alerts.endAll()) this.sendAlert(now, e);
      await inTime(
        new Promise<void>((resolve) => {
          this.drained = resolve;
          this.pump();
        }),
      );
      this.drained = undefined;
      if (this.client.connected)
        await inTime(
          new Promise<void>((resolve) => {
            const offline = statusBody(this.edgeId, 'offline');
            this.client.publish(
              statusTopic(this.storeId, this.edgeId),
              offline,
              { qos: 1, retain: true },
              () => resolve(),
            );
          }),
        );
      this.client.off('connect', this.onConnect);
      this.client.off('close', this.onClose);
      if (this.opts.ownsClient) await this.client.endAsync(!this.client.connected);
    })();
    return this.closing;
  }

  private readonly onConnect = (): void => {
    this.generation++;
    this.inFlight = 0;
    this.tracksWriting = false;
    // Again at every connection: a lost one made the broker publish our will (`offline`).
    if (!this.closing)
      this.client.publish(
        statusTopic(this.storeId, this.edgeId),
        statusBody(this.edgeId, 'online'),
        { qos: 1, retain: true },
        (err) => {
          if (err) this.failed('online status', err);
        },
      );
    this.pump();
    if (this.tracksOwed && !this.closing) this.writeTracks();
  };

  private readonly onClose = (): void => {
    // Writes of a dead socket never report back: whatever waits is sent again on reconnection.
    this.generation++;
    this.inFlight = 0;
    this.tracksWriting = false;
  };

  /** Whether a track message may go now (at most trackRateHz); claims the slot if so. */
  private trackSlot(tsMs: number): boolean {
    const periodMs = 1000 / this.cfg.trackRateHz;
    // A store clock that jumped back (a replay restarted) starts the slots afresh.
    if (tsMs < this.nextTracksDueMs - 2 * periodMs) this.nextTracksDueMs = tsMs;
    if (tsMs < this.nextTracksDueMs) return false;
    this.nextTracksDueMs += periodMs;
    if (this.nextTracksDueMs <= tsMs) this.nextTracksDueMs = tsMs + periodMs;
    return true;
  }

  /**
   * Writes the newest track statement, QoS 0, one at a time: while the socket has not taken the
   * last one (or there is no connection), newer statements replace the waiting one, and
   * new/update/end are worked out against what subscribers were actually sent, so coalescing never
   * loses a track's `new` or `end`. Called only when a message may go (its rate slot, the watchdog).
   */
  private writeTracks(): void {
    const statement = this.pendingTracks;
    if (!statement) return;
    if (this.tracksWriting || !this.client.connected) {
      this.tracksOwed = true;
      return;
    }
    this.tracksOwed = false;
    this.pendingTracks = null;
    const events = this.tracksLive.replaceAll(statement.tracks, statement.tsMs, true);
    if (events.length === 0) return;
    this.tracksWriting = true;
    const generation = this.generation;
    this.counts.trackMessages++;
    const body = JSON.stringify(this.tracksBody(statement.tsMs, events));
    this.client.publish(topics.edgeTracks(this.storeId, this.edgeId), body, { qos: 0 }, (err) => {
      if (generation !== this.generation) return;
      this.tracksWriting = false;
      if (err) this.failed('tracks', err);
      if (this.tracksOwed) this.writeTracks();
    });
  }

  private tracksBody(tsMs: number, events: LiveEvent<TrackValue>[]): EdgeTracks {
    return {
      edgeId: this.edgeId,
      tsMs,
      tracks: events.map((e) => ({ type: e.type, trackId: e.id, ...e.value })),
    };
  }

  private sendCart(tsMs: number, e: LiveEvent<CartValue> | null): void {
    if (!e) return;
    const body = { edgeId: this.edgeId, tsMs, visitId: e.id, ...e.value };
    this.enqueue(`cart:${e.id}`, { topic: topics.edgeCarts(this.storeId, this.edgeId), type: e.type, body });
  }

  private sendPlate(tsMs: number, e: LiveEvent<PlateValue> | null): void {
    if (!e) return;
    const body = { edgeId: this.edgeId, tsMs, plateId: e.id, ...e.value };
    this.enqueue(`plate:${e.id}`, {
      topic: topics.edgePlates(this.storeId, this.edgeId),
      type: e.type,
      body,
    });
  }

  private sendAlert(tsMs: number, e: LiveEvent<AlertValue> | null): void {
    if (!e) return;
    const body = { edgeId: this.edgeId, tsMs, alertId: e.id, ...e.value };
    this.enqueue(`alert:${e.id}`, {
      topic: topics.edgeAlerts(this.storeId, this.edgeId),
      type: e.type,
      body,
    });
  }

  private enqueue(key: string, message: Outgoing): void {
    this.queue.push(key, message);
    this.pump();
  }

  /** Hands waiting messages to the client, QoS 1, up to maxInFlight unacknowledged at a time. */
  private pump(): void {
    while (this.client.connected && this.inFlight < this.cfg.maxInFlight) {
      const m = this.queue.shift();
      if (!m) break;
      this.inFlight++;
      const generation = this.generation;
      const body = m.batch ? m.body : { ...m.body, type: m.type };
      this.client.publish(m.topic, JSON.stringify(body), { qos: 1 }, (err) => {
        if (generation !== this.generation) return;
        this.inFlight--;
        if (err) this.failed(m.topic, err);
        else this.counts.acknowledged++;
        this.pump();
      });
    }
    if (this.queue.size === 0 && this.inFlight === 0) this.drained?.();
  }

  private failed(what: string, err: Error): void {
    this.counts.errors++;
    this.opts.log?.warn('live publish failed', { what, error: err.message });
  }
}

/**
 * Only the contract's fields (a Track's birth and last sighting are the tracker's business), copied:
 * a tracker may update its vectors in place.
 */
function trackValue(t: LiveTrack): TrackValue {
  return {
    floorXyM: [t.floorXyM[0], t.floorXyM[1]],
    velocityMps: [t.velocityMps[0], t.velocityMps[1]],
    state: t.state,
    ...(t.visitId !== undefined ? { visitId: t.visitId } : {}),
    ...(t.memberNo !== undefined ? { memberNo: t.memberNo } : {}),
  };
}

/** Resolves after `ms` (at once if not positive) without holding the process open. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());

function healthOf(h: PlateHealth): NonNullable<PlateValue['health']> {
  return { status: h.status, sinceMs: h.sinceMs, ...(h.detail !== undefined ? { detail: h.detail } : {}) };
}
