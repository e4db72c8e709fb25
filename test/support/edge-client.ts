import * as grpc from '@grpc/grpc-js';
import { type CloudMessage, loadEdgeLink } from '../../proto/grpc/edge-link.ts';

type Union<U> = U extends unknown ? keyof U : never;
type Fields = { [K in Union<CloudMessage>]?: Extract<CloudMessage, Record<K, unknown>>[K] | null };
/** A CloudMessage as proto-loader decodes it: every member present, the set one named by `body`. */
export type Received = Fields & { body: Union<CloudMessage> };

/** A real EdgeLink client, as an edge node would open it, recording everything the cloud sends. */
export interface EdgeClient {
  received: Received[];
  send(message: Record<string, unknown>): void;
  /** Resolves with the first message (already received or to come) that matches. */
  waitFor(match: (m: Received) => boolean, timeoutMs?: number): Promise<Received>;
  welcome(): Promise<{ storeId: string; ackedSeq: number }>;
  waitForAck(seq: number, timeoutMs?: number): Promise<void>;
  status: Promise<grpc.StatusObject>;
  close(): void;
}

export function connectEdge(address: string, deviceId: string, secret: string): EdgeClient {
  const EdgeLink = loadEdgeLink();
  const client = new EdgeLink(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Basic ${Buffer.from(`${deviceId}:${secret}`).toString('base64')}`);
  const call = (
    client as unknown as { connect(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, Received> }
  ).connect(metadata);
  const received: Received[] = [];
  const listeners = new Set<() => void>();
  call.on('data', (m: Received) => {
    received.push(m);
    for (const l of listeners) l();
  });
  const status = new Promise<grpc.StatusObject>((resolve) => {
    call.on('status', resolve);
    call.on('error', () => {});
  });
  const waitFor: EdgeClient['waitFor'] = (match, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = received.find(match);
        if (found) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(
          new Error(`no matching message in ${timeoutMs} ms; got ${JSON.stringify(received.slice(-5))}`),
        );
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return {
    received,
    send: (m) => call.write(m),
    waitFor,
    welcome: async () => (await waitFor((m) => m.body === 'welcome')).welcome!,
    waitForAck: async (seq, timeoutMs) => {
      await waitFor((m) => (m.ack?.seq ?? -1) >= seq, timeoutMs);
    },
    status,
    close: () => {
      call.end();
      client.close();
    },
  };
}
