import * as grpc from '@grpc/grpc-js';
import {
  type CloudMessage,
  EdgeMessage,
  loadEdgeLink,
  type SequencedMessage,
} from '../../proto/grpc/edge-link.ts';
import { badText, describeIssues, formatIssues } from '../../proto/index.ts';
import type { CloudContext } from '../context.ts';
import { decideScan } from '../entry/gate.ts';
import { type Device, parseBasic } from '../stores/devices.ts';
import { resumePoint, saveAck, storeBatch, storeInvalid } from './store.ts';
import { Watermark } from './watermark.ts';

type Call = grpc.ServerDuplexStream<unknown, CloudMessage>;

export interface LinkOptions {
  /** Messages stored per transaction at most; a partial batch waits at most flushMs. */
  batchSize?: number;
  flushMs?: number;
  /** Called once a closed visit's every earlier report is stored, i.e. it can be settled. */
  onSettleable?: (visitId: string) => void;
}

/**
 * What this process knows of one edge, shared by its streams: after a reconnect the old stream
 * goes on storing what it had queued, and what it stores counts for the new stream's ack.
 */
interface EdgeState {
  mark: Watermark;
  /** Closed visits by the seq of their close, settleable once the ack passes it. */
  closes: Map<string, number>;
}

/** A device id as devices.ts makes them; anything else is refused before the database sees it. */
const DEVICE_ID = /^[\x21-\x7e]{1,128}$/;

/** What the deserializer hands on for bytes that are not an EdgeMessage, instead of killing the stream. */
interface Undecodable {
  undecodable: string;
}

/**
 * grpc-js ends a whole stream when one message fails to decode. Wrapping the decoder lets the
 * handler refuse that one message, count it and carry on with the rest.
 */
function tolerantService(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const connect = service.Connect!;
  return {
    ...service,
    Connect: {
      ...connect,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return connect.requestDeserialize(bytes);
        } catch (err) {
          return { undecodable: (err as Error).message } satisfies Undecodable;
        }
      },
    },
  };
}

export function createLinkServer(ctx: CloudContext, opts: LinkOptions = {}): grpc.Server {
  const server = new grpc.Server();
  const active = new Map<string, Call>();
  const edges = new Map<string, EdgeState>();
  const log = ctx.log.child('link');
  // A revoked edge is cut off at once, not at its next reconnect.
  ctx.notices.onDeviceRevoked((id) => {
    const call = id === undefined ? undefined : active.get(id);
    if (!call) return;
    active.delete(id!);
    call.emit('error', {
      code: grpc.status.UNAUTHENTICATED,
      details: 'UNAUTHENTICATED: credentials revoked',
    });
  });
  server.addService(tolerantService(loadEdgeLink().service), {
    Connect: (call: Call) => {
      void (async () => {
        const creds = parseBasic(String(call.metadata.get('authorization')[0] ?? ''));
        const device =
          creds && DEVICE_ID.test(creds.id) ? await ctx.devices.authenticate(creds.id, creds.secret) : null;
        if (device?.kind !== 'edge') {
          ctx.metrics.rejected.inc({ code: 'UNAUTHENTICATED', surface: 'grpc' });
          call.emit('error', {
            code: grpc.status.UNAUTHENTICATED,
            details: 'UNAUTHENTICATED: unknown, revoked or non-edge credentials',
          });
          return;
        }
        // One stream per edge: a reconnect replaces the old stream, whose order no longer matters.
        active.get(device.id)?.end();
        active.set(device.id, call);
        let state = edges.get(device.id);
        if (!state) {
          state = { mark: new Watermark(0), closes: new Map() };
          edges.set(device.id, state);
        }
        await serve(ctx, device, state, call, opts, log);
      })().catch((err: unknown) => {
        // The reason goes to the log only: a client never sees the database's words.
        log.error('edge stream failed', { err });
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'UNAVAILABLE: please reconnect' });
      });
    },
  });
  return server;
}

async function serve(
  ctx: CloudContext,
  device: Device,
  state: EdgeState,
  call: Call,
  opts: LinkOptions,
  log: CloudContext['log'],
): Promise<void> {
  const batchSize = opts.batchSize ?? 500;
  const flushMs = opts.flushMs ?? 5;
  const maxQueued = batchSize * 8;
  const { mark, closes } = state;
  const resume = await resumePoint(ctx.db, device.id);
  mark.raise(resume.acked, resume.ahead);
  for (const c of resume.closes) closes.set(c.visitId, c.closedSeq);
  let queue: SequencedMessage[] = [];
  let timer: NodeJS.Timeout | null = null;
  let draining: Promise<void> | null = null;
  // Invalid messages are kept on their own chain: order does not matter to storage (each seq is
  // stored once) nor to the ack (the watermark only counts what is stored).
  let invalid: Promise<void> = Promise.resolve();
  let lastAck = -1;

  const send = (m: CloudMessage) => {
    if (!call.writableEnded) call.write(m);
  };
  // Saved, then settlement queued, then acknowledged: an edge that sees the ack of a close knows
  // the visit's receipt is on its way, and a restart's sweep finds the same closes settleable.
  const saveAndSettle = async (acked: number) => {
    await saveAck(ctx.db, device.id, acked, ctx.now());
    for (const [visitId, seq] of closes) {
      if (seq <= acked) {
        closes.delete(visitId);
        opts.onSettleable?.(visitId);
      }
    }
  };
  const ack = async () => {
    const acked = mark.value;
    if (acked === lastAck) return;
    lastAck = acked;
    await saveAndSettle(acked);
    send({ ack: { seq: acked } });
  };
  const storeAndAck = async (batch: SequencedMessage[]) => {
    const result = await storeBatch(ctx.db, device, batch, {
      entryKeys: ctx.gate.entryKeys,
      skewS: ctx.gate.skewS,
      nowMs: ctx.now().getTime(),
    });
    // Every seq of a committed batch is stored, whichever stream stored it first: a duplicate of
    // what the edge's old stream stored counts as much as a fresh one.
    for (const m of batch) mark.add(m.seq);
    for (const c of result.closed) closes.set(c.visitId, c.closedSeq);
    for (const r of result.refused) {
      ctx.metrics.rejected.inc({ code: r.code, surface: 'grpc' });
      log.warn('edge message refused', {
        deviceId: device.id,
        seq: r.message.seq,
        code: r.code,
        reason: r.reason,
      });
      send({ rejected: { seq: r.message.seq, code: r.code, reason: r.reason } });
    }
    await ack();
  };
  // One batch is stored at a time and whatever arrived meanwhile forms the next, so batches grow
  // with the load (fewer, larger transactions) instead of queueing up as many small ones; past
  // maxQueued messages waiting, the stream stops being read until the store catches up.
  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    draining ??= (async () => {
      while (queue.length > 0) {
        await storeAndAck(queue.splice(0, batchSize));
        if (call.isPaused() && queue.length < maxQueued / 2) call.resume();
      }
    })()
      .catch((err: unknown) => {
        // Nothing of the failed batch was acknowledged, so the edge resends it after reconnecting.
        queue = [];
        log.error('storing an edge batch failed; closing the stream', { deviceId: device.id, err });
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'UNAVAILABLE: please reconnect' });
      })
      .finally(() => {
        draining = null;
      });
    return draining;
  };

  // The resume point is saved before the Welcome tells the edge: a close stored just before a crash
  // is settled now, whether or not the edge ever sends another message.
  lastAck = mark.value;
  await saveAndSettle(lastAck);
  send({ welcome: { storeId: device.storeId, ackedSeq: lastAck } });
  const sendConfig = async () => {
    const store = await ctx.db.query<{ is_open: boolean; capacity: number | null }>(
      'select is_open, capacity from stores where id = $1',
      [device.storeId],
    );
    send({
      config: {
        isOpen: store.rows[0]?.is_open ?? false,
        capacity: store.rows[0]?.capacity ?? 0,
        entryKeysUrl: '/v1/entry-keys',
      },
    });
  };
  await sendConfig();
  // An operator closing the store or changing its capacity reaches the edge while it is connected.
  const unsubscribe = ctx.notices.onStoreChange(device.storeId, () => {
    sendConfig().catch((err: unknown) =>
      log.warn('sending store config failed', { deviceId: device.id, err }),
    );
  });

  call.on('data', (raw: unknown) => {
    if (typeof raw === 'object' && raw !== null && 'undecodable' in raw) {
      const reason = `not an EdgeMessage: ${(raw as Undecodable).undecodable}`;
      ctx.metrics.rejected.inc({ code: 'PAYLOAD_INVALID', surface: 'grpc' });
      log.warn('edge message undecodable', { deviceId: device.id, reason });
      send({ rejected: { seq: 0, code: 'PAYLOAD_INVALID', reason } });
      return;
    }
    const parsed = EdgeMessage.safeParse(raw);
    // Text the database cannot store (a NUL) would fail its whole batch, and every resend again.
    const bad = parsed.success ? badText(parsed.data) : undefined;
    if (!parsed.success || bad !== undefined) {
      const reason = parsed.success
        ? `${bad!.path}: ${bad!.reason}`
        : formatIssues(describeIssues(parsed.error));
      const seq = (raw as { seq?: unknown }).seq;
      ctx.metrics.rejected.inc({ code: 'PAYLOAD_INVALID', surface: 'grpc' });
      log.warn('edge message invalid', { deviceId: device.id, seq, reason });
      send({ rejected: { seq: typeof seq === 'number' ? seq : 0, code: 'PAYLOAD_INVALID', reason } });
      // Kept and acknowledged, so one bad message cannot stall the edge's stream behind it.
      if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0) {
        invalid = invalid
          .then(async () => {
            // Stored now or before (by another stream): either way it counts for the ack.
            await storeInvalid(ctx.db, device, seq, raw, reason);
            mark.add(seq);
            await ack();
          })
          .catch((err: unknown) =>
            log.error('keeping an invalid edge message failed', { deviceId: device.id, seq, err }),
          );
      }
      return;
    }
    const m = parsed.data;
    if (m.body === 'hello') return;
    if (m.body === 'gateScan') {
      const { scanId, gateId, qr } = m.gateScan;
      void decideScan(ctx.gate, { storeId: device.storeId, gateId, qr })
        .then((d) =>
          send({
            gateDecision: {
              scanId,
              open: d.decision === 'open',
              reason: d.decision === 'deny' ? d.reason : '',
              message: d.message,
              visitId: d.decision === 'open' ? d.visitId : '',
              party: d.decision === 'open' ? d.party : 0,
            },
          }),
        )
        .catch((err: unknown) => {
          // The gate stays shut: a scan the cloud could not decide is a denial, never an opening.
          log.error('gate scan from the edge failed', { deviceId: device.id, scanId, err });
          send({
            gateDecision: {
              scanId,
              open: false,
              reason: 'unavailable',
              message: 'Please try again.',
              visitId: '',
              party: 0,
            },
          });
        });
      return;
    }
    queue.push(m);
    if (queue.length >= maxQueued) call.pause();
    if (draining) return;
    if (queue.length >= batchSize) void flush();
    else timer ??= setTimeout(() => void flush(), flushMs);
  });
  await new Promise<void>((resolve) => {
    call.on('end', resolve);
    call.on('cancelled', resolve);
    call.on('error', () => resolve());
  });
  unsubscribe();
  await flush();
  await invalid;
  if (!call.writableEnded) call.end();
  log.info('edge stream ended', { deviceId: device.id, acked: mark.value });
}
