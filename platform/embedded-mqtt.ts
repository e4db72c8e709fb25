import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import { aclFor, mayPublish, maySubscribe, type TopicAcl } from '../proto/index.ts';
import type { BrokerGrant, MqttAuthority } from './mqtt-authority.ts';

export interface EmbeddedBroker {
  url: string;
  /** Who may connect, and to which topics: anonymous clients are refused until granted. */
  authority: MqttAuthority;
  close(): Promise<void>;
}

interface Account {
  passwordHash: Buffer;
  acl: TopicAcl;
}

const hash = (password: string | Buffer) => createHash('sha256').update(password).digest();

/** aedes' error for a refused CONNECT: return code 4, bad user name or password. */
function badLogin(): Error & { returnCode: number } {
  return Object.assign(new Error('bad user name or password'), { returnCode: 4 });
}

/**
 * The accounts table behind the aedes hooks. Every check reads the table, so a revoked account
 * loses its rights on its next packet, and revoke() also drops its connections at once.
 */
function accountsTable() {
  const accounts = new Map<string, Account>();
  /** Connected clients by their account; the broker's clientDisconnect event removes them. */
  const owner = new Map<Client, string>();
  const accountOf = (client: Client | null) => {
    const username = client ? owner.get(client) : undefined;
    return username === undefined ? undefined : accounts.get(username);
  };
  const kick = (username: string) => {
    for (const [c, u] of owner) if (u === username) c.close();
  };
  const hooks: Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'> = {
    authenticate: (client, username, password, done) => {
      const account = username === undefined ? undefined : accounts.get(username);
      const given = password === undefined ? undefined : hash(password);
      if (!account || !given || !timingSafeEqual(given, account.passwordHash)) return done(badLogin(), false);
      owner.set(client, username!);
      done(null, true);
    },
    // A null client is the broker publishing a will of a client already gone: it was checked then.
    authorizePublish: (client, packet, done) => {
      if (client === null) return done(null);
      const account = accountOf(client);
      done(account && mayPublish(account.acl, packet.topic) ? null : new Error('publish not authorised'));
    },
    authorizeSubscribe: (client, sub, done) => {
      const account = accountOf(client);
      done(null, account && maySubscribe(account.acl, sub.topic) ? sub : null);
    },
  };
  const grant = (g: BrokerGrant) => {
    const acl = aclFor(g.identity);
    kick(g.username);
    accounts.set(g.username, { passwordHash: hash(g.password), acl });
  };
  const revoke = (username: string) => {
    accounts.delete(username);
    kick(username);
  };
  const authority: MqttAuthority = {
    grant: async (g) => grant(g),
    grantAll: async (gs) => {
      // Every identity is checked before any account changes, as one request to Mosquitto would.
      for (const g of gs) aclFor(g.identity);
      for (const g of gs) grant(g);
    },
    revoke: async (username) => revoke(username),
    revokeAll: async (us) => {
      for (const u of us) revoke(u);
    },
    close: async () => {},
  };
  return { hooks, authority, disconnected: (client: Client) => owner.delete(client) };
}

/** In-process MQTT broker (aedes, memory persistence: retained messages and wills work). */
export async function startEmbeddedBroker(
  opts: { port?: number; host?: string } = {},
): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1';
  const table = accountsTable();
  const broker = await Aedes.createBroker(table.hooks);
  broker.on('clientDisconnect', table.disconnected);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  server.listen(opts.port ?? 0, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('broker has no TCP address');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      // server.close waits for open connections; clients with reconnect logic would keep it open forever.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await serverClosed;
    })();
    return closing;
  };
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { url: `mqtt://${urlHost}:${address.port}`, authority: table.authority, close };
}
