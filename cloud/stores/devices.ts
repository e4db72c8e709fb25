import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hashSecret } from '../accounts/tokens.ts';
import type { Db } from '../db/pool.ts';

/** `authority`: the store's gate authority on the broker (the cloud's own client, or an edge standing in). */
export const DEVICE_KINDS = [
  'edge',
  'gate',
  'plate',
  'scanner',
  'gate-sensor',
  'camera',
  'authority',
] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export interface Device {
  id: string;
  storeId: string;
  kind: DeviceKind;
  /** The gates it belongs to; null for a gate controller of every gate of its store. */
  gateIds: string[] | null;
  /** Its id in the store's layout (plates, scanners, beam sensors, cameras). */
  layoutId: string | null;
}

export interface NewStore {
  id: string;
  name: string;
  timezone?: string;
  capacity?: number | null;
  isOpen?: boolean;
}

export async function createStore(db: Db, s: NewStore): Promise<void> {
  await db.query('insert into stores (id, name, timezone, capacity, is_open) values ($1, $2, $3, $4, $5)', [
    s.id,
    s.name,
    s.timezone ?? 'UTC',
    s.capacity ?? null,
    s.isOpen ?? true,
  ]);
}

/** A new device credential; the secret is shown once, stored hashed. */
export async function createDevice(
  db: Db,
  storeId: string,
  kind: DeviceKind,
  place: { gateIds?: string[] | null; layoutId?: string | null } = {},
): Promise<Device & { secret: string }> {
  const id = `${kind}-${randomBytes(6).toString('hex')}`;
  const secret = randomBytes(24).toString('base64url');
  const gateIds = place.gateIds ?? null;
  const layoutId = place.layoutId ?? null;
  await db.query(
    'insert into devices (id, store_id, kind, secret_hash, gate_ids, layout_id) values ($1, $2, $3, $4, $5, $6)',
    [id, storeId, kind, hashSecret(secret), gateIds, layoutId],
  );
  return { id, storeId, kind, gateIds, layoutId, secret };
}

/** What createDevice issues: `edge-`/`gate-` and hex ids, base64url secrets; room to spare for both. */
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DEVICE_SECRET = /^[A-Za-z0-9_-]{1,200}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * `Basic base64(id:secret)`, as gate controllers (HTTP) and edges (gRPC metadata) send it. Only the
 * canonical encoding of an id and secret of the form devices have is accepted: anything else (a NUL,
 * invalid UTF-8, base64 with stray bits or characters) is refused without reaching the database.
 */
export function parseBasic(header: string): { id: string; secret: string } | null {
  const [scheme, value] = header.split(' ', 2);
  if (scheme !== 'Basic' || !value || value.length > 400 || !BASE64.test(value)) return null;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) return null;
  const decoded = bytes.toString('latin1');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const id = decoded.slice(0, colon);
  const secret = decoded.slice(colon + 1);
  return DEVICE_ID.test(id) && DEVICE_SECRET.test(secret) ? { id, secret } : null;
}

export interface DeviceAuth {
  /** The device a credential belongs to, or null for an unknown, revoked or wrong one. */
  authenticate(id: string, secret: string): Promise<Device | null>;
  /** Drops what is known of one device (revoked), or of all (notices may have been missed). */
  forget(id?: string): void;
}

/**
 * Every gate scan and edge stream presents its credentials, so a device's row is kept for a short
 * while instead of read for each. A revocation reaches every cloud process as a notice and drops
 * the entry at once; the time limit covers a notice lost to a dropped listener.
 */
export function deviceAuth(db: Db, opts: { ttlMs?: number; nowMs?: () => number } = {}): DeviceAuth {
  const ttlMs = opts.ttlMs ?? 10_000;
  const nowMs = opts.nowMs ?? Date.now;
  const known = new Map<string, { device: Device; secretHash: string; until: number }>();
  return {
    authenticate: async (id, secret) => {
      let entry = known.get(id);
      if (!entry || entry.until <= nowMs()) {
        const { rows } = await db.query<{
          id: string;
          store_id: string;
          kind: DeviceKind;
          secret_hash: string;
          gate_ids: string[] | null;
          layout_id: string | null;
        }>({
          name: 'devices.authenticate',
          text: 'select id, store_id, kind, secret_hash, gate_ids, layout_id from devices where id = $1 and revoked_at is null',
          values: [id],
        });
        const row = rows[0];
        if (!row) {
          known.delete(id);
          return null;
        }
        entry = {
          device: {
            id: row.id,
            storeId: row.store_id,
            kind: row.kind,
            gateIds: row.gate_ids,
            layoutId: row.layout_id,
          },
          secretHash: row.secret_hash,
          until: nowMs() + ttlMs,
        };
        known.set(id, entry);
      }
      const given = Buffer.from(hashSecret(secret));
      const stored = Buffer.from(entry.secretHash);
      return given.length === stored.length && timingSafeEqual(given, stored) ? entry.device : null;
    },
    forget: (id) => (id === undefined ? known.clear() : void known.delete(id)),
  };
}

/** Revokes a device's credentials; false when the store has no such live device. */
export async function revokeDevice(db: Db, storeId: string, id: string, now: Date): Promise<boolean> {
  const r = await db.query(
    'update devices set revoked_at = $3 where id = $1 and store_id = $2 and revoked_at is null',
    [id, storeId, now],
  );
  return (r.rowCount ?? 0) > 0;
}
