/**
 * An edge node's side of the EdgeLink, as a real one keeps it: every report is kept until an ack
 * (or a Welcome) covers it, a lost stream is opened again, and the new stream resends from the
 * Welcome's acked_seq + 1. It also watches its own acks: a stream to a live cloud that owes it
 * an ack and moves none for `ackStallMs` is an ack stall, counted, after which it reconnects (as
 * an edge's watchdog would) so the run goes on.
 */

import * as grpc from '@grpc/grpc-js';
import { loadEdgeLink } from '../../proto/grpc/edge-link.ts';
import type { EdgeRecord } from './invariants.ts';
import { sleep } from './options.ts';

interface Incoming {
  body?: string;
  welcome?: { ackedSeq: number } | null;
  ack?: { seq: number } | null;
  rejected?: { seq: number; code: string; reason: string } | null;
}

export interface AckStall {
  device: string;
  /** Epoch ms the stall was declared. */
  at: number;
  acked: number;
  lastSent: number;
  /** 'run': during the kills; 'final': the edge's ack never reached its last seq at the end. */
  phase: 'run' | 'final';
}

export interface Edge {
  readonly device: string;
  readonly acked: number;
  readonly lastSent: number;
  /** Sends a report under the next seq (now, or after the next Welcome) and returns the seq. */
  report(body: Record<string, unknown>, record: Omit<EdgeRecord, 'device' | 'seq'>): number;
  /** Resolves once the cloud acknowledged every report so far; false when `timeoutMs` passed first. */
  settled(timeoutMs: number): Promise<boolean>;
  /** Resolves once an ack or a Welcome covers `seq` (never, if the edge closes first). */
  acknowledged(seq: number): Promise<void>;
  /** Opens a connection to use at the next blip (resolves when it is ready, or could not be). */
  prepareBlip(): Promise<void>;
  /**
   * Drops the stream while the cloud stays up, as a network blip would, and opens the next one at
   * once: on the prepared connection, so the cloud may still be storing the old stream's last
   * reports while it reads where the new one resumes.
   */
  blip(): void;
  close(): void;
}

const EdgeLink = loadEdgeLink();
/** Between attempts to reach a cloud that is down. */
const RECONNECT_MS = 100;
const BLIP_READY_MS = 2_000;

export function openEdge(opts: {
  address: string;
  device: string;
  secret: string;
  ackStallMs: number;
  /** Whether the cloud process is listening, and since when (epoch ms). */
  cloudUpSince: () => number;
  onStall: (s: AckStall) => void;
  onRejected: (seq: number, code: string, reason: string) => void;
  onAckRegression: (device: string, had: number, welcome: number) => void;
  sent: EdgeRecord[];
}): Edge {
  const auth = `Basic ${Buffer.from(`${opts.device}:${opts.secret}`).toString('base64')}`;
  const outbox = new Map<number, Record<string, unknown>>();
  let seq = 0;
  let acked = 0;
  let call: grpc.ClientDuplexStream<unknown, Incoming> | null = null;
  let client: grpc.Client | null = null;
  let welcomedAt = 0;
  let lastProgress = Date.now();
  let closed = false;
  /** Streams a blip replaced: their end opens nothing, the blip opened the next one. */
  const replaced = new WeakSet<object>();
  const waiters = new Set<() => void>();

  const advance = (to: number) => {
    if (to <= acked) return;
    for (let s = acked + 1; s <= to; s++) outbox.delete(s);
    acked = to;
    lastProgress = Date.now();
    for (const w of waiters) w();
  };

  const newClient = () =>
    new EdgeLink(opts.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  /** A connection made ready before a blip, so that the new stream follows the old at once. */
  let spare: grpc.Client | null = null;

  const connect = (ready?: grpc.Client) => {
    if (closed) return;
    const c = ready ?? newClient();
    const md = new grpc.Metadata();
    md.set('authorization', auth);
    const stream = (
      c as unknown as { connect(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, Incoming> }
    ).connect(md);
    client = c;
    call = stream;
    welcomedAt = 0;
    let ended = false;
    const lost = () => {
      if (ended) return;
      ended = true;
      if (call === stream) {
        call = null;
        welcomedAt = 0;
      }
      stream.cancel();
      c.close();
      // A blip opens its own new stream at once; a cloud that is down is tried every RECONNECT_MS.
      if (!closed && !replaced.has(stream)) void sleep(RECONNECT_MS).then(() => connect());
    };
    stream.on('data', (m: Incoming) => {
      if (m.welcome) {
        const w = Number(m.welcome.ackedSeq);
        if (w < acked) opts.onAckRegression(opts.device, acked, w);
        advance(w);
        welcomedAt = Date.now();
        lastProgress = welcomedAt;
        // Everything past the Welcome, in order: the cloud drops what it already has.
        for (const s of [...outbox.keys()].sort((a, b) => a - b)) stream.write(outbox.get(s));
      } else if (m.ack) {
        advance(Number(m.ack.seq));
      } else if (m.rejected) {
        opts.onRejected(Number(m.rejected.seq), m.rejected.code, m.rejected.reason);
      }
    });
    stream.on('error', lost);
    stream.on('end', lost);
    stream.on('close', lost);
  };

  const until = (target: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (acked < target) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });

  const watchdog = setInterval(() => {
    if (!call || welcomedAt === 0 || seq <= acked) return;
    const up = opts.cloudUpSince();
    if (up === 0) return;
    const since = Math.max(lastProgress, welcomedAt, up);
    if (Date.now() - since < opts.ackStallMs) return;
    opts.onStall({ device: opts.device, at: Date.now(), acked, lastSent: seq, phase: 'run' });
    call.cancel();
  }, 250);
  watchdog.unref();

  connect();
  return {
    device: opts.device,
    get acked() {
      return acked;
    },
    get lastSent() {
      return seq;
    },
    report: (body, record) => {
      seq += 1;
      const m = { seq, timeMs: Date.now(), ...body };
      // An edge that owed nothing starts the stall clock at this report, not at its last ack.
      if (outbox.size === 0) lastProgress = Date.now();
      outbox.set(seq, m);
      opts.sent.push({ device: opts.device, seq, ...record });
      if (call && welcomedAt > 0) call.write(m);
      return seq;
    },
    settled: async (timeoutMs) => {
      const target = seq;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((r) => {
        timer = setTimeout(() => r(false), timeoutMs);
      });
      const ok = await Promise.race([until(target).then(() => true as const), late]);
      clearTimeout(timer);
      return ok;
    },
    acknowledged: (s) => until(s),
    prepareBlip: () =>
      new Promise<void>((resolve) => {
        const c = newClient();
        c.waitForReady(Date.now() + BLIP_READY_MS, (err) => {
          if (err || closed) c.close();
          else {
            spare?.close();
            spare = c;
          }
          resolve();
        });
      }),
    blip: () => {
      if (!call) return;
      const ready = spare;
      spare = null;
      replaced.add(call);
      call.cancel();
      connect(ready ?? undefined);
    },
    close: () => {
      closed = true;
      spare?.close();
      clearInterval(watchdog);
      call?.cancel();
      client?.close();
    },
  };
}
