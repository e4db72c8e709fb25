import pg from 'pg';
import type { Logger } from '../../platform/log.ts';

import type { Tx } from '../db/pool.ts';

export const SHOPPER_CHANNEL = 'walkout_shopper_events';

/** What the app hears: a receipt issued, a dispute decided. */
export interface ShopperNotice {
  shopperId: string;
  event: 'receipt' | 'dispute';
  /** The receipt's or the dispute's id. */
  id: string;
  data: Record<string, unknown>;
}

export interface ShopperPush {
  /** Calls fn for every notice to this shopper from now on; returns the unsubscribe. */
  subscribe(shopperId: string, fn: (n: ShopperNotice) => void): () => void;
  close(): Promise<void>;
}

/** Queues a notice inside tx: PostgreSQL delivers it when, and only if, tx commits. */
export async function notifyShopper(tx: Tx, notice: ShopperNotice): Promise<void> {
  await tx.query('select pg_notify($1, $2)', [SHOPPER_CHANNEL, JSON.stringify(notice)]);
}

/**
 * Notices reach the app through PostgreSQL's LISTEN/NOTIFY, sent inside the transaction that
 * issues the receipt or decides the dispute, so every cloud process hears of it exactly when it is
 * committed, whichever process did the work.
 */
export async function startShopperPush(databaseUrl: string, log: Logger): Promise<ShopperPush> {
  const subscribers = new Map<string, Set<(n: ShopperNotice) => void>>();
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
        const n = JSON.parse(msg.payload ?? '') as ShopperNotice;
        for (const fn of subscribers.get(n.shopperId) ?? []) fn(n);
      } catch (err) {
        log.warn('unreadable shopper notice', { payload: msg.payload, err });
      }
    });
    // A lost listener would silently stop every receipt push, so it is rebuilt until it holds.
    client.on('error', (err) => {
      log.error('shopper notice listener lost its connection; reconnecting', { err });
      reconnect();
    });
    await client.connect();
    await client.query(`listen ${SHOPPER_CHANNEL}`);
  };
  await listen();
  return {
    subscribe: (shopperId, fn) => {
      const set = subscribers.get(shopperId) ?? new Set();
      set.add(fn);
      subscribers.set(shopperId, set);
      return () => {
        set.delete(fn);
        if (set.size === 0) subscribers.delete(shopperId);
      };
    },
    close: async () => {
      closed = true;
      await client.end().catch(() => {});
    },
  };
}
