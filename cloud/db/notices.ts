import pg from 'pg';
import type { Logger } from '../../platform/log.ts';

import type { Queryable } from './pool.ts';

/**
 * What committed transactions tell every cloud process: a shopper's receipt or dispute (pushed to
 * the app), a store's settings changed (pushed to its edge as StoreConfig).
 */
export const NOTICE_CHANNEL = 'walkout_notices';

/** What the app hears: a receipt issued, a dispute decided, a visit's hold declined. */
export interface ShopperNotice {
  shopperId: string;
  event: 'receipt' | 'dispute' | 'hold';
  /** The receipt's, the dispute's or the visit's id. */
  id: string;
  data: Record<string, unknown>;
}

type Wire = { shopper: ShopperNotice } | { store: string } | { deviceRevoked: string };

export interface Notices {
  /** Calls fn for every notice to this shopper from now on; returns the unsubscribe. */
  subscribe(shopperId: string, fn: (n: ShopperNotice) => void): () => void;
  /** Calls fn whenever this store's settings change; returns the unsubscribe. */
  onStoreChange(storeId: string, fn: () => void): () => void;
  /** Calls fn with each revoked device's id, and with no id after notices may have been missed. */
  onDeviceRevoked(fn: (deviceId?: string) => void): void;
  close(): Promise<void>;
}

/** Queues a notice inside tx: PostgreSQL delivers it when, and only if, tx commits. */
export async function notifyShopper(tx: Queryable, notice: ShopperNotice): Promise<void> {
  await send(tx, { shopper: notice });
}

export async function notifyStoreChanged(q: Queryable, storeId: string): Promise<void> {
  await send(q, { store: storeId });
}

export async function notifyDeviceRevoked(q: Queryable, deviceId: string): Promise<void> {
  await send(q, { deviceRevoked: deviceId });
}

async function send(q: Queryable, wire: Wire): Promise<void> {
  await q.query('select pg_notify($1, $2)', [NOTICE_CHANNEL, JSON.stringify(wire)]);
}

class Subscribers<T> {
  private readonly byKey = new Map<string, Set<(v: T) => void>>();
  add(key: string, fn: (v: T) => void): () => void {
    const set = this.byKey.get(key) ?? new Set();
    set.add(fn);
    this.byKey.set(key, set);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.byKey.delete(key);
    };
  }
  call(key: string, v: T): void {
    for (const fn of this.byKey.get(key) ?? []) fn(v);
  }
  callAll(v: T): void {
    for (const key of this.byKey.keys()) this.call(key, v);
  }
}

/**
 * Notices travel through PostgreSQL's LISTEN/NOTIFY, sent inside the transaction that makes them
 * true (a receipt issued, a dispute decided, a store changed, a device revoked), so every cloud
 * process hears of it exactly when it is committed, whichever process did the work.
 */
export async function startNotices(databaseUrl: string, log: Logger): Promise<Notices> {
  const shoppers = new Subscribers<ShopperNotice>();
  const stores = new Subscribers<void>();
  const revoked = new Set<(deviceId?: string) => void>();
  let client: pg.Client;
  let closed = false;
  let reconnecting = false;
  const reconnect = (): void => {
    if (closed || reconnecting) return;
    reconnecting = true;
    const attempt = (): void => {
      listen().then(
        () => {
          reconnecting = false;
          // Whatever changed while nobody listened: every edge gets its store's settings again,
          // and every device shows its credentials to the database again.
          stores.callAll(undefined);
          for (const fn of revoked) fn();
        },
        () => {
          if (!closed) setTimeout(attempt, 1000).unref();
        },
      );
    };
    setTimeout(attempt, 200).unref();
  };
  const listen = async (): Promise<void> => {
    client = new pg.Client({ connectionString: databaseUrl });
    client.on('notification', (msg) => {
      try {
        const wire = JSON.parse(msg.payload ?? '') as Wire;
        if ('shopper' in wire) shoppers.call(wire.shopper.shopperId, wire.shopper);
        else if ('store' in wire) stores.call(wire.store, undefined);
        else for (const fn of revoked) fn(wire.deviceRevoked);
      } catch (err) {
        log.warn('unreadable notice', { payload: msg.payload, err });
      }
    });
    // A lost listener would silently stop every notice (receipt pushes among them), so it is
    // rebuilt until it holds.
    client.on('error', (err) => {
      log.error('notice listener lost its connection; reconnecting', { err });
      reconnect();
    });
    await client.connect();
    await client.query(`listen ${NOTICE_CHANNEL}`);
  };
  await listen();
  return {
    subscribe: (shopperId, fn) => shoppers.add(shopperId, fn),
    onStoreChange: (storeId, fn) => stores.add(storeId, fn),
    onDeviceRevoked: (fn) => void revoked.add(fn),
    close: async () => {
      closed = true;
      await client.end().catch(() => {});
    },
  };
}
