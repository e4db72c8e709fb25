import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../../platform/log.ts';
import {
  type DecodedMessage,
  type DeviceStatus,
  decodeMessage,
  filters,
  WalkoutError,
} from '../../proto/index.ts';
import { Fifo } from './fifo.ts';
import { messageTimeMs } from './message-time.ts';
import { DEFAULT_REJECTION_LOG, type RejectionLogConfig, Rejections } from './rejections.ts';

export interface MqttInputOptions {
  url: string;
  storeId: string;
  /** The edge's broker login: the cloud's device API issues the edge `id:secret`. */
  username: string;
  password: string;
  /**
   * Fixed for this edge (its device id, say): with a persistent session (clean: false) the broker
   * keeps the subscription and the QoS 1 scans, passages and commands sent while the edge is away,
   * and hands them over when the same client id connects again, after a drop or a restart.
   */
  clientId: string;
  log: Logger;
  /** Wait between reconnection attempts, ms. */
  reconnectPeriodMs?: number;
  /** A connection attempt not answered in this time is failed and tried again, ms. */
  connectTimeoutMs?: number;
  /**
   * Told each camera's status as it arrives (retained ones first, on connecting: given here, before
   * connecting, so none is missed). The live input reads the streams they announce.
   */
  onCameraStatus?: (status: DeviceStatus) => void;
  /** Wall clock: rate-limits logging. */
  nowMs?: () => number;
  rejectionLog?: RejectionLogConfig;
}

const DEFAULT_RECONNECT_PERIOD_MS = 1_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** A broker that stays unreachable is logged at most this often, ms. */
const CONNECTION_LOG_PERIOD_MS = 30_000;

/** A decoded device message and its own store-clock time (messageTimeMs; null for a status). */
export interface ReceivedMessage {
  message: DecodedMessage;
  tsMs: number | null;
}

/**
 * The store's device traffic from the broker: every message under walkout/{storeId}/# decoded with
 * decodeMessage and queued FIFO for the loop (never dropped, never reordered; a slow loop makes
 * the queue long, not lossy). A message that does not decode is counted by code, logged
 * (rate-limited) and skipped; nothing is thrown into the loop. Cameras' statuses are also told to
 * `onCameraStatus`, which is how the live input finds the streams.
 */
export class MqttInput {
  private readonly queue = new Fifo<ReceivedMessage>();
  private readonly rejections: Rejections;
  private readonly listeners: (() => void)[] = [];
  private newestMs: number | null = null;
  private lastConnectionLogMs = Number.NEGATIVE_INFINITY;
  private closed = false;

  private constructor(
    private readonly client: MqttClient,
    private readonly opts: MqttInputOptions,
  ) {
    const now = opts.nowMs ?? Date.now;
    this.rejections = new Rejections(
      opts.log,
      'MQTT message',
      now,
      opts.rejectionLog ?? DEFAULT_REJECTION_LOG,
    );
    client.on('message', (topic, body) => this.receive(topic, body));
    client.on('connect', (ack) => {
      // The next loss is news again.
      this.lastConnectionLogMs = Number.NEGATIVE_INFINITY;
      opts.log.info('broker connected', { clientId: opts.clientId, sessionPresent: ack.sessionPresent });
    });
    client.on('offline', () => this.connectionProblem('broker connection lost; reconnecting'));
    client.on('error', (err) => this.connectionProblem('broker connection error', err));
  }

  /**
   * Connects and subscribes (QoS 1); resolves once subscribed. A broker that is down is retried
   * until it answers; a refused login or subscription rejects (BROKER_ACCESS_REFUSED), as retrying
   * cannot fix it.
   */
  static async connect(opts: MqttInputOptions): Promise<MqttInput> {
    const options: IClientOptions = {
      username: opts.username,
      password: opts.password,
      clientId: opts.clientId,
      clean: false,
      reconnectPeriod: opts.reconnectPeriodMs ?? DEFAULT_RECONNECT_PERIOD_MS,
      connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    };
    const client = mqtt.connect(opts.url, options);
    const input = new MqttInput(client, opts);
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error & { code?: number }) => {
          // CONNACK 4 (bad user name or password) and 5 (not authorised): retrying cannot help.
          if (err.code === 4 || err.code === 5) reject(refused(`login as ${opts.username}`, err));
        };
        client.on('error', onError);
        client.once('connect', () => {
          client.off('error', onError);
          resolve();
        });
      });
      // The devices' topics only: the store's edges publish their live state under the same root,
      // this one included, and reading it back would be work and noise.
      const filter = [
        filters.plateSamples(opts.storeId),
        filters.gateScans(opts.storeId),
        filters.gateCommands(opts.storeId),
        filters.gatePassages(opts.storeId),
        filters.deviceStatus(opts.storeId),
      ];
      const granted = await client.subscribeAsync(filter, { qos: 1 });
      if (granted.some((g) => g.qos !== 1 && g.qos !== 0))
        throw refused(
          `subscription to ${filter.join(', ')}`,
          new Error(`granted ${JSON.stringify(granted)}`),
        );
    } catch (err) {
      await client.endAsync(true);
      throw err;
    }
    return input;
  }

  /** The oldest message waiting, or undefined. */
  take(): ReceivedMessage | undefined {
    return this.queue.shift();
  }

  /** The oldest message waiting, left in the queue. */
  peek(): ReceivedMessage | undefined {
    return this.queue.peek();
  }

  /** The newest store time a message received so far carried; null before the first. */
  get newestTimeMs(): number | null {
    return this.newestMs;
  }

  /** Messages waiting for the loop. */
  get pending(): number {
    return this.queue.length;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Called after each message queued. */
  onMessage(listener: () => void): void {
    this.listeners.push(listener);
  }

  rejected(): Record<string, number> {
    return this.rejections.counts();
  }

  /** Ends the connection cleanly; the broker keeps the session for the next connect. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.endAsync();
  }

  private receive(topic: string, body: Buffer): void {
    let message: DecodedMessage;
    try {
      message = decodeMessage(topic, body);
    } catch (err) {
      this.rejections.add(err, { topic, bytes: body.length });
      return;
    }
    if (message.storeId !== this.opts.storeId) {
      // Only a broker ignoring the subscription's filter sends this; refused as outside our tree.
      this.rejections.addCode('TOPIC_UNKNOWN', `${topic}: not store ${this.opts.storeId}`, { topic });
      return;
    }
    const tsMs = messageTimeMs(message);
    if (tsMs !== null) this.newestMs = Math.max(this.newestMs ?? tsMs, tsMs);
    this.queue.push({ message, tsMs });
    if (message.kind === 'deviceStatus' && message.payload.kind === 'camera')
      this.opts.onCameraStatus?.(message.payload);
    for (const l of this.listeners) l();
  }

  private connectionProblem(msg: string, err?: Error): void {
    if (this.closed) return;
    const now = (this.opts.nowMs ?? Date.now)();
    if (now - this.lastConnectionLogMs < CONNECTION_LOG_PERIOD_MS) return;
    this.lastConnectionLogMs = now;
    this.opts.log.warn(msg, { url: this.opts.url, clientId: this.opts.clientId, error: err?.message });
  }
}

function refused(what: string, cause: Error): WalkoutError {
  return new WalkoutError('BROKER_ACCESS_REFUSED', `${what} refused: ${cause.message}`, {}, { cause });
}
