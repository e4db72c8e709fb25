import type { SequencedMessage } from '../../proto/grpc/edge-link.ts';
import { type Db, inTransaction, type Tx } from '../db/pool.ts';
import { type OfflineDeps, reconcileOfflineEntries } from '../entry/offline.ts';
import type { Device } from '../stores/devices.ts';
import { classify, type Refusal, type VisitFacts, visitIds } from './classify.ts';

export interface BatchResult {
  /** Seqs stored for the first time (applied or refused). */
  fresh: number[];
  duplicates: number;
  refused: Refusal[];
  /** Visits this batch closed, with the seq of their close. */
  closed: Array<{ visitId: string; closedSeq: number }>;
}

type Of<K extends SequencedMessage['body']> = Extract<SequencedMessage, { body: K }>;
const at = (m: SequencedMessage) => new Date(m.timeMs);

/**
 * Stores one batch from one edge in one transaction. The (device, seq) key decides what is new, so
 * a batch resent after a reconnect changes nothing; only new messages are classified and applied.
 */
export async function storeBatch(
  db: Db,
  device: Device,
  batch: readonly SequencedMessage[],
  offline: OfflineDeps,
): Promise<BatchResult> {
  const unique = [...new Map(batch.map((m) => [m.seq, m])).values()];
  return inTransaction(db, async (tx) => {
    const inserted = await tx.query<{ seq: number }>(
      `insert into edge_events (device_id, seq, kind)
       select $1, s, k from unnest($2::bigint[], $3::text[]) as u(s, k)
       on conflict do nothing returning seq`,
      [device.id, unique.map((m) => m.seq), unique.map((m) => m.body)],
    );
    const freshSeqs = new Set(inserted.rows.map((r) => r.seq));
    const fresh = unique.filter((m) => freshSeqs.has(m.seq)).sort((a, b) => a.seq - b.seq);
    const entries = fresh.filter((m): m is Of<'offlineEntry'> => m.body === 'offlineEntry');
    const entryRefusals = await reconcileOfflineEntries(tx, device, entries, offline);
    const reports = fresh.filter((m) => m.body !== 'offlineEntry');
    const classified = classify(reports, await lookUpVisits(tx, reports), device.storeId);
    const { accepted } = classified;
    const refused = [...entryRefusals, ...classified.refused];
    const only = <K extends SequencedMessage['body']>(k: K) =>
      accepted.filter((m): m is Of<K> => m.body === k);
    const closed = await applyVisitEvents(tx, device, only('visit'));
    await insertCart(tx, device, only('cart'));
    await insertShelf(tx, device, only('shelf'));
    await insertHealth(tx, device, only('health'));
    if (refused.length > 0) {
      await tx.query(
        `insert into edge_rejections (device_id, seq, code, reason, message)
         select $1, s, c, r, m from unnest($2::bigint[], $3::text[], $4::text[], $5::jsonb[]) as u(s, c, r, m)`,
        [
          device.id,
          refused.map((r) => r.message.seq),
          refused.map((r) => r.code),
          refused.map((r) => r.reason),
          refused.map((r) => JSON.stringify(r.message)),
        ],
      );
    }
    return {
      fresh: [...freshSeqs],
      duplicates: unique.length - fresh.length + (batch.length - unique.length),
      refused,
      closed,
    };
  });
}

async function lookUpVisits(tx: Tx, messages: readonly SequencedMessage[]): Promise<Map<string, VisitFacts>> {
  const ids = visitIds(messages);
  if (ids.length === 0) return new Map();
  // Shared locks: settlement takes the visit's row exclusively, so a report either lands before
  // the receipt is priced or finds the visit settled and is refused, never lost in between.
  const { rows } = await tx.query<{
    id: string;
    store_id: string;
    status: VisitFacts['status'];
    party: number;
  }>(
    'select id, store_id, status, companions + 1 as party from visits where id = any($1::uuid[]) for share',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, { storeId: r.store_id, status: r.status, party: r.party }]));
}

async function applyVisitEvents(
  tx: Tx,
  device: Device,
  events: readonly Of<'visit'>[],
): Promise<BatchResult['closed']> {
  const closed: BatchResult['closed'] = [];
  for (const m of events) {
    const { visitId, kind, memberNo } = m.visit;
    if (kind === 'VISIT_CLOSED') {
      const r = await tx.query(
        `update visits set status = 'closed', closed_at = $2, closed_seq = $3, closed_by = $4
         where id = $1 and status = 'open'`,
        [visitId, at(m), m.seq, device.id],
      );
      if ((r.rowCount ?? 0) > 0) closed.push({ visitId, closedSeq: m.seq });
      continue;
    }
    const column = kind === 'MEMBER_ENTERED' ? 'entered_at' : 'exited_at';
    await tx.query(
      `update visit_members set ${column} = coalesce(${column}, $3) where visit_id = $1 and member_no = $2`,
      [visitId, memberNo, at(m)],
    );
    await tx.query(
      'insert into gate_passages (time, store_id, visit_id, member_no, direction) values ($1, $2, $3, $4, $5)',
      [at(m), device.storeId, visitId, memberNo, kind === 'MEMBER_ENTERED' ? 'in' : 'out'],
    );
  }
  return closed;
}

async function insertCart(tx: Tx, device: Device, events: readonly Of<'cart'>[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query(
    `insert into cart_events (time, store_id, visit_id, member_no, sku, quantity, grams, confidence, evidence,
                              device_id, seq)
     select t, $1, v, n, s, q, g, c, array(select jsonb_array_elements_text(e)), $2, seq
     from unnest($3::timestamptz[], $4::uuid[], $5::int[], $6::text[], $7::int[], $8::float8[], $9::real[],
                 $10::jsonb[], $11::bigint[]) as u(t, v, n, s, q, g, c, e, seq)`,
    [
      device.storeId,
      device.id,
      events.map(at),
      events.map((m) => m.cart.visitId),
      events.map((m) => m.cart.memberNo),
      events.map((m) => m.cart.sku),
      events.map((m) => m.cart.quantity),
      events.map((m) => m.cart.grams),
      events.map((m) => m.cart.confidence),
      events.map((m) => JSON.stringify(m.cart.evidence)),
      events.map((m) => m.seq),
    ],
  );
}

async function insertShelf(tx: Tx, device: Device, events: readonly Of<'shelf'>[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query(
    `insert into shelf_states (time, store_id, plate_id, grams, stable)
     select t, $1, p, g, s from unnest($2::timestamptz[], $3::text[], $4::float8[], $5::bool[]) as u(t, p, g, s)`,
    [
      device.storeId,
      events.map(at),
      events.map((m) => m.shelf.plateId),
      events.map((m) => m.shelf.grams),
      events.map((m) => m.shelf.stable),
    ],
  );
}

async function insertHealth(tx: Tx, device: Device, events: readonly Of<'health'>[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query(
    `insert into edge_health (time, store_id, device_id, component, status, detail)
     select t, $1, $2, c, s, d from unnest($3::timestamptz[], $4::text[], $5::text[], $6::text[]) as u(t, c, s, d)`,
    [
      device.storeId,
      device.id,
      events.map(at),
      events.map((m) => m.health.component),
      events.map((m) => m.health.status),
      events.map((m) => m.health.detail),
    ],
  );
}

/**
 * Where an edge resumes: its saved acknowledgement, whatever it stored past it (perhaps by a
 * stream whose acknowledgement a crash or a reconnect kept from being saved), and the visits it
 * closed that are not settled yet, which become settleable as the acknowledgement passes them.
 */
export async function resumePoint(
  db: Db,
  deviceId: string,
): Promise<{ acked: number; ahead: number[]; closes: Array<{ visitId: string; closedSeq: number }> }> {
  await db.query('insert into edge_links (device_id) values ($1) on conflict do nothing', [deviceId]);
  const link = await db.query<{ acked_seq: number }>(
    'select acked_seq from edge_links where device_id = $1',
    [deviceId],
  );
  const acked = link.rows[0]!.acked_seq;
  const ahead = await db.query<{ seq: number }>(
    'select seq from edge_events where device_id = $1 and seq > $2 order by seq',
    [deviceId, acked],
  );
  const closes = await db.query<{ id: string; closed_seq: number }>(
    `select id, closed_seq from visits where closed_by = $1 and status = 'closed' and closed_seq > $2`,
    [deviceId, acked],
  );
  return {
    acked,
    ahead: ahead.rows.map((r) => r.seq),
    closes: closes.rows.map((r) => ({ visitId: r.id, closedSeq: r.closed_seq })),
  };
}

export async function saveAck(db: Db, deviceId: string, acked: number, now: Date): Promise<void> {
  await db.query(
    'update edge_links set acked_seq = greatest(acked_seq, $2), last_seen_at = $3 where device_id = $1',
    [deviceId, acked, now],
  );
}

/** jsonb cannot hold a NUL character: it is kept as the visible escape `\u0000` instead. */
const withoutNul = (_key: string, v: unknown) =>
  typeof v === 'string' ? v.replaceAll('\u0000', '\\u0000') : v;

/** A message that failed validation but has a seq: kept as a rejection so the stream moves on. */
export async function storeInvalid(
  db: Db,
  device: Device,
  seq: number,
  raw: unknown,
  reason: string,
): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    const r = await tx.query(
      "insert into edge_events (device_id, seq, kind) values ($1, $2, 'invalid') on conflict do nothing",
      [device.id, seq],
    );
    if ((r.rowCount ?? 0) === 0) return false;
    await tx.query(
      `insert into edge_rejections (device_id, seq, code, reason, message) values ($1, $2, 'PAYLOAD_INVALID', $3, $4)`,
      [device.id, seq, reason, JSON.stringify(raw, withoutNul)],
    );
    return true;
  });
}
