/**
 * The edge's end of the EdgeLink (proto/grpc/edge_link.proto): one bidirectional stream to the
 * cloud, fed from the durable outbox. Reports are numbered and stored before `report` resolves; on
 * each Welcome the link resends everything past the cloud's `acked_seq`, then streams new reports
 * as they are stored. Cumulative Acks drop from the outbox; Rejected reports are counted and logged,
 * never resent (the cloud acknowledged them too). The stream is reopened after any failure with
 * capped exponential backoff and jitter.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../platform/log.ts';
import { type CloudMessage, EdgeMessage, loadEdgeLink } from '../../proto/grpc/edge-link.ts';
import { badText, describeIssues, formatIssues, WalkoutError } from '../../proto/index.ts';
import type { CheckpointStore, CloudLink, GateAnswer, Report } from '../stages.ts';
import type { LinkConfig } from './config.ts';
import { OfflineGate } from './offline-gate.ts';
import { Outbox, type OutboxEntry } from './outbox.ts';
import { backoffMs, realTimers, type Timers } from './timers.ts';

export type StoreConfig = Extract<CloudMessage, { config: unknown }>['config'];

export interface EdgeLinkDeps {
  log: Logger;
  /** Epoch ms for the Hello and gate scans (reports carry their own time). */
  nowMs?: () => number;
  timers?: Timers;
  /** 0..1, for the backoff's jitter. */
  random?: () => number;
  /** Every StoreConfig the cloud sends (at each Welcome and when an operator changes the store). */
  onConfig?: (config: StoreConfig) => void;
}

export interface LinkStatus {
  connected: boolean;
  lastSeq: number;
  ackedSeq: number;
  pending: number;
  /** Reconnect attempts since the last Welcome. */
  attempt: number;
}

type Union<U> = U extends unknown ? keyof U : never;
/** A CloudMessage as proto-loader decodes it: every member present, the set one named by `body`. */
type Received = { [K in Union<CloudMessage>]?: Extract<CloudMessage, Record<K, unknown>>[K] | null } & {
  body: Union<CloudMessage>;
};
type Call = grpc.ClientDuplexStream<Record<string, unknown>, Received>;

/** One stream; events of a stream that has been replaced are ignored. */
interface Stream {
  client: grpc.Client;
  call: Call;
  welcomed: boolean;
  down: boolean;
  /** Cancels a stream the cloud never welcomes (it accepted the connection and went quiet). */
  welcomeTimer: unknown;
}

/** The longest an entry code may be valid; the cloud issues them for 30 s at most. */
const ENTRY_CODE_MAX_VALIDITY_S = 30;

let EdgeLinkCtor: grpc.ServiceClientConstructor | undefined;

/** On the wire the oneof is named by the field that is set. */
const wire = (e: OutboxEntry): Record<string, unknown> => {
  const { body: _, ...fields } = e.report;
  return { seq: e.seq, timeMs: e.timeMs, ...fields };
};

export class EdgeLinkClient implements CloudLink, CheckpointStore {
  private stream: Stream | null = null;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: unknown = null;
  /** The highest seq written to the current stream. */
  private sentSeq = 0;
  /** The highest Ack of the current stream (the outbox drops up to it a little later). */
  private cloudAcked = 0;
  /** The pump waits here for a new report, a drained stream, or the stream's end. */
  private wake: (() => void) | null = null;
  private readonly asks = new Map<string, { resolve: (a: GateAnswer | null) => void; timer: unknown }>();
  private latest: StoreConfig | null = null;
  private readonly refused: Record<string, number> = {};
  private readonly gate: OfflineGate;
  private keysTimer: unknown = null;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly log: Logger;
  private readonly nowMs: () => number;
  private readonly timers: Timers;
  private readonly random: () => number;

  private constructor(
    private readonly cfg: LinkConfig,
    private readonly outbox: Outbox,
    private readonly deps: EdgeLinkDeps,
  ) {
    this.log = deps.log;
    this.nowMs = deps.nowMs ?? Date.now;
    this.timers = deps.timers ?? realTimers;
    this.random = deps.random ?? Math.random;
    this.credentials = cfg.tls
      ? grpc.credentials.createSsl(cfg.tls.caFile ? readFileSync(cfg.tls.caFile) : null)
      : grpc.credentials.createInsecure();
    this.gate = new OfflineGate(
      {
        keysFile: cfg.entryKeysFile ?? join(cfg.outboxDir, 'entry-keys.json'),
        stateFile: join(cfg.outboxDir, 'offline-entries.json'),
        skewS: cfg.entryClockSkewS,
        maxValidityS: ENTRY_CODE_MAX_VALIDITY_S,
      },
      this.log,
    );
  }

  /** Opens the outbox in `cfg.outboxDir` and starts connecting; reports are accepted at once. */
  static start(cfg: LinkConfig, deps: EdgeLinkDeps): EdgeLinkClient {
    const link = new EdgeLinkClient(cfg, Outbox.open(cfg.outboxDir), deps);
    link.connect();
    return link;
  }

  async report(report: Report, timeMs: number): Promise<void> {
    this.check(report, timeMs);
    await this.outbox.append(report, timeMs);
    this.poke();
  }

  async reportAll(
    reports: readonly { report: Report; timeMs: number }[],
    checkpoint: Uint8Array,
  ): Promise<void> {
    for (const r of reports) this.check(r.report, r.timeMs);
    await this.outbox.appendAll(reports, checkpoint);
    this.poke();
  }

  checkpoint(): Uint8Array | null {
    return this.outbox.checkpoint();
  }

  private check(report: Report, timeMs: number): void {
    if (this.closed) throw new WalkoutError('INTERNAL', 'the edge link is closed');
    // A report the cloud would refuse as malformed is the caller's bug: refused here, before it
    // takes a seq, rather than discovered later as a rejection.
    const parsed = EdgeMessage.safeParse({ ...report, seq: 1, timeMs });
    const bad = parsed.success ? badText(report) : undefined;
    if (!parsed.success || bad) {
      const reason = parsed.success
        ? `${bad!.path}: ${bad!.reason}`
        : formatIssues(describeIssues(parsed.error));
      throw new WalkoutError('PAYLOAD_INVALID', `report refused: ${reason}`, { report });
    }
  }

  askGate(
    scan: { scanId: string; gateId: string; qr: string },
    timeoutMs: number,
  ): Promise<GateAnswer | null> {
    const s = this.stream;
    if (!s?.welcomed || this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      // A scan id asked again replaces the earlier ask, which gets no answer.
      this.settleAsk(scan.scanId, null);
      const timer = this.timers.set(() => this.settleAsk(scan.scanId, null), timeoutMs);
      this.asks.set(scan.scanId, { resolve, timer });
      s.call.write({ seq: 0, timeMs: this.nowMs(), gateScan: scan });
    });
  }

  status(): LinkStatus {
    return { connected: this.stream?.welcomed ?? false, ...this.outbox.counters(), attempt: this.attempt };
  }

  /** The latest StoreConfig the cloud sent, null before the first. */
  config(): StoreConfig | null {
    return this.latest;
  }

  /**
   * Checks entry codes while the cloud is unreachable, with the entry keys last fetched (kept on
   * disk); use with admitOffline when askGate answers null.
   */
  offlineGate(): OfflineGate {
    return this.gate;
  }

  /** Reports the cloud refused, by error code (never resent; they are in its edge_rejections). */
  rejected(): Record<string, number> {
    return { ...this.refused };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer !== null) this.timers.clear(this.reconnectTimer);
    if (this.keysTimer !== null) this.timers.clear(this.keysTimer);
    const s = this.stream;
    if (s) {
      // Nothing is lost by cutting the stream: whatever it carried is in the outbox until acked.
      s.call.cancel();
      this.down(s, { code: grpc.status.CANCELLED, details: 'closed' });
    }
    await this.outbox.close();
  }

  private connect(): void {
    this.reconnectTimer = null;
    if (this.closed) return;
    EdgeLinkCtor ??= loadEdgeLink();
    // A new channel each time: grpc's own channel backoff (up to two minutes) would otherwise
    // decide when a call may try again, not this link's.
    const client = new EdgeLinkCtor(this.cfg.address, this.credentials, {
      'grpc.keepalive_time_ms': this.cfg.keepaliveMs,
      'grpc.keepalive_timeout_ms': this.cfg.keepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
    });
    const md = new grpc.Metadata();
    const { id, secret } = this.cfg.credentials;
    md.set('authorization', `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`);
    const call = (client as unknown as { connect(md: grpc.Metadata): Call }).connect(md);
    const s: Stream = { client, call, welcomed: false, down: false, welcomeTimer: null };
    this.stream = s;
    s.welcomeTimer = this.timers.set(() => {
      s.welcomeTimer = null;
      if (s.welcomed || s.down) return;
      call.cancel();
      this.down(s, { code: grpc.status.DEADLINE_EXCEEDED, details: 'no Welcome in time' });
    }, this.cfg.welcomeTimeoutMs);
    call.on('data', (m: Received) => this.onMessage(s, m));
    call.on('drain', () => this.poke());
    call.on('status', (st: grpc.StatusObject) => this.down(s, st));
    // The status event follows with the same code; without a listener 'error' would throw.
    call.on('error', () => {});
    call.write({ seq: 0, timeMs: this.nowMs(), hello: { software: this.cfg.software } });
  }

  private onMessage(s: Stream, m: Received): void {
    if (s !== this.stream) return;
    switch (m.body) {
      case 'welcome':
        this.onWelcome(s, m.welcome!.ackedSeq).catch((err: unknown) => {
          this.log.error('resuming after the Welcome failed; reconnecting', { err });
          s.call.cancel();
        });
        return;
      case 'ack':
        this.cloudAcked = Math.max(this.cloudAcked, m.ack!.seq);
        this.poke();
        this.outbox
          .ack(m.ack!.seq)
          .catch((err: unknown) => this.log.error('dropping acknowledged reports failed', { err }));
        return;
      case 'rejected': {
        const { seq, code, reason } = m.rejected!;
        this.refused[code] = (this.refused[code] ?? 0) + 1;
        this.log.warn('the cloud refused a report', { seq, code, reason });
        return;
      }
      case 'gateDecision': {
        const d = m.gateDecision!;
        this.settleAsk(d.scanId, { open: d.open, reason: d.reason, visitId: d.visitId, party: d.party });
        return;
      }
      case 'config':
        this.latest = m.config!;
        this.refreshKeys();
        this.deps.onConfig?.(m.config!);
        return;
    }
  }

  private async onWelcome(s: Stream, cloudAcked: number): Promise<void> {
    if (s.welcomeTimer !== null) this.timers.clear(s.welcomeTimer);
    s.welcomeTimer = null;
    const local = this.outbox.counters();
    if (cloudAcked > local.lastSeq) {
      // The cloud has seqs this outbox never handed out: the outbox was lost or replaced. Reports
      // made since would reuse those seqs and be dropped as duplicates; they move above instead.
      const { moved } = await this.outbox.renumberAbove(cloudAcked);
      this.log.error(
        'the outbox is behind the cloud: it was lost or replaced; numbering goes on above the cloud’s',
        {
          cloudAcked,
          localLastSeq: local.lastSeq,
          renumbered: moved,
        },
      );
    } else if (cloudAcked < local.ackedSeq) {
      // The cloud lost what it had acknowledged (a restored database): the outbox no longer holds it.
      this.log.error('the cloud acknowledges less than it did before; reports between were dropped here', {
        cloudAcked,
        localAckedSeq: local.ackedSeq,
      });
    } else {
      await this.outbox.ack(cloudAcked);
    }
    if (s !== this.stream) return;
    s.welcomed = true;
    this.attempt = 0;
    this.sentSeq = Math.max(cloudAcked, this.outbox.counters().ackedSeq);
    this.cloudAcked = this.sentSeq;
    this.log.info('edge link up', { resumeAfter: this.sentSeq, pending: this.outbox.counters().pending });
    void this.pump(s);
  }

  /**
   * Sends the outbox past sentSeq a page at a time, waiting whenever gRPC's buffer is full or
   * maxInFlight reports are unacknowledged. The cloud stops reading a stream whose queue is long,
   * and a gate scan on it would wait behind the whole queue (seconds, measured, with 40,000 waiting).
   */
  private async pump(s: Stream): Promise<void> {
    while (s === this.stream && !s.down) {
      if (this.sentSeq - this.cloudAcked >= this.cfg.maxInFlight) {
        await this.waitForPoke();
        continue;
      }
      const limit = Math.min(this.cfg.pageSize, this.cfg.maxInFlight - (this.sentSeq - this.cloudAcked));
      const page = this.outbox.read(this.sentSeq + 1, limit);
      if (page.length === 0) {
        await this.waitForPoke();
        continue;
      }
      for (const e of page) {
        if (s !== this.stream || s.down) return;
        const more = s.call.write(wire(e));
        this.sentSeq = e.seq;
        // Wait for 'drain' (or the stream's end): new reports alone do not wake a full stream.
        while (!more && !s.down && s.call.writableNeedDrain) await this.waitForPoke();
      }
    }
  }

  private waitForPoke(): Promise<void> {
    return new Promise((resolve) => {
      const previous = this.wake;
      this.wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private down(s: Stream, st: { code: number; details: string }): void {
    if (s.down) return;
    s.down = true;
    if (s.welcomeTimer !== null) this.timers.clear(s.welcomeTimer);
    s.client.close();
    if (s !== this.stream) return;
    this.stream = null;
    for (const scanId of [...this.asks.keys()]) this.settleAsk(scanId, null);
    this.poke();
    if (this.closed) return;
    const delayMs = backoffMs(this.attempt, this.cfg.backoff, this.random);
    this.attempt += 1;
    const fields = { code: st.code, details: st.details, attempt: this.attempt, retryInMs: delayMs };
    if (st.code === grpc.status.UNAUTHENTICATED)
      this.log.error('the cloud refused this edge’s credentials', fields);
    else if (s.welcomed || this.attempt === 1)
      this.log.warn('edge link down; reports wait in the outbox', fields);
    else this.log.debug('edge link still down', fields);
    this.reconnectTimer = this.timers.set(() => this.connect(), delayMs);
  }

  /** Fetches the entry keys now and again every entryKeysRefreshMs; a failure keeps the old ones. */
  private refreshKeys(): void {
    const path = this.latest?.entryKeysUrl;
    if (!path || !this.cfg.httpUrl || this.closed) return;
    if (this.keysTimer !== null) this.timers.clear(this.keysTimer);
    this.keysTimer = this.timers.set(() => this.refreshKeys(), this.cfg.entryKeysRefreshMs);
    const url = new URL(path, this.cfg.httpUrl).toString();
    this.gate
      .refresh(url)
      .catch((err: unknown) =>
        this.log.warn('fetching the entry keys failed; offline entries use the ones kept', { url, err }),
      );
  }

  private settleAsk(scanId: string, answer: GateAnswer | null): void {
    const ask = this.asks.get(scanId);
    if (!ask) return;
    this.asks.delete(scanId);
    this.timers.clear(ask.timer);
    ask.resolve(answer);
  }
}
