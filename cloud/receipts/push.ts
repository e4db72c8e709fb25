import pg from 'pg';
import type { Logger } from '../../platform/log.ts';

export interface ReceiptNotice {
  shopperId: string;
  receiptId: string;
  visitId: string;
}

export interface ReceiptPush {
  /** Calls fn for every receipt issued to this shopper from now on; returns the unsubscribe. */
  subscribe(shopperId: string, fn: (n: ReceiptNotice) => void): () => void;
  close(): Promise<void>;
}

/**
 * Receipts reach the app through PostgreSQL's LISTEN/NOTIFY: settlement notifies inside the
 * transaction that issues the receipt, so every cloud process hears of it exactly when it is
 * committed, whichever process settled it.
 */
export async function startReceiptPush(databaseUrl: string, log: Logger): Promise<ReceiptPush> {
  const subscribers = new Map<string, Set<(n: ReceiptNotice) => void>>();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  client.on('notification', (msg) => {
    try {
      const n = JSON.parse(msg.payload ?? '') as ReceiptNotice;
      for (const fn of subscribers.get(n.shopperId) ?? []) fn(n);
    } catch (err) {
      log.warn('unreadable receipt notification', { payload: msg.payload, err });
    }
  });
  client.on('error', (err) => log.error('receipt listener lost its connection', { err }));
  await client.query('listen walkout_receipts');
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
    close: () => client.end(),
  };
}
