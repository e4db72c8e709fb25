import { randomBytes, randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { aclFor, type BrokerIdentity, WalkoutError } from '../proto/index.ts';

/** A broker account: what a device, edge or cloud connects with, and who it is (its topics follow). */
export interface BrokerGrant {
  username: string;
  password: string;
  identity: BrokerIdentity;
}

/**
 * Whoever decides who may connect to the broker and what each client may publish and subscribe.
 * Mosquitto's is its dynamic-security plugin, driven over MQTT; the embedded broker's is a table
 * in its own process. Both derive a client's topics from aclFor, so they grant the same.
 */
export interface MqttAuthority {
  /** Creates the account, or replaces it (and drops its connections) when the username exists. */
  grant(grant: BrokerGrant): Promise<void>;
  /** grant() for many accounts at once (a store's devices): one request where the broker allows. */
  grantAll(grants: readonly BrokerGrant[]): Promise<void>;
  /** Deletes the account and disconnects it; unknown usernames are not an error. */
  revoke(username: string): Promise<void>;
  revokeAll(usernames: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** `user:password`, as scripts/services.sh prints MQTT_ADMIN. */
export function parseBrokerLogin(pair: string): { username: string; password: string } {
  const colon = pair.indexOf(':');
  if (colon <= 0 || colon === pair.length - 1)
    throw new WalkoutError('CONFIG_INVALID', 'MQTT_ADMIN must be "user:password"');
  return { username: pair.slice(0, colon), password: pair.slice(colon + 1) };
}

const CONTROL = '$CONTROL/dynamic-security/v1';
/**
 * A request the broker does not answer in this time is a failure, not a wait forever. The plugin
 * rewrites its whole accounts file after each changing command (some 10 ms at a few hundred
 * accounts), so a batch gets more time per command.
 */
const CONTROL_TIMEOUT_MS = 5_000;
const CONTROL_MS_PER_COMMAND = 100;

interface DynsecCommand {
  command: string;
  [field: string]: unknown;
}
interface DynsecResponse {
  command: string;
  error?: string;
  correlationData?: string;
}

/** Each account gets a role of its own holding exactly its ACL, so revoking one touches no other. */
const roleOf = (username: string) => `walkout-acl-${username}`;

/**
 * The plugin saves its whole file after every command that changes it, so a grant is as few
 * changing commands as it can be: the role with its ACL in one, the client in another.
 */
function dynsecCommands(g: BrokerGrant): DynsecCommand[] {
  const acl = aclFor(g.identity);
  const rolename = roleOf(g.username);
  const acls = [
    ...acl.publish.map((topic) => ({ acltype: 'publishClientSend', topic, allow: true })),
    ...acl.subscribe.map((topic) => ({ acltype: 'subscribePattern', topic, allow: true })),
  ];
  return [
    { command: 'deleteClient', username: g.username },
    { command: 'deleteRole', rolename },
    { command: 'createRole', rolename, textname: `${g.identity.role} ${g.identity.storeId}`, acls },
    { command: 'createClient', username: g.username, password: g.password, roles: [{ rolename }] },
  ];
}

/**
 * Mosquitto's dynamic-security plugin, over one admin connection. Deleting what may not exist
 * answers "not found", which is the state wanted; any other error fails the call.
 */
export async function connectDynsecAuthority(opts: {
  url: string;
  admin: { username: string; password: string };
}): Promise<MqttAuthority> {
  const client: MqttClient = await mqtt.connectAsync(opts.url, {
    ...opts.admin,
    clientId: `walkout-authority-${randomUUID()}`,
    reconnectPeriod: 1_000,
    connectTimeout: CONTROL_TIMEOUT_MS,
  });
  // A lost connection is retried; what it costs shows as a request answered late (BROKER_REFUSED).
  client.on('error', () => {});
  const waiting = new Map<string, (responses: DynsecResponse[]) => void>();
  client.on('message', (_topic, body) => {
    let responses: DynsecResponse[];
    try {
      responses = (JSON.parse(body.toString()) as { responses: DynsecResponse[] }).responses ?? [];
    } catch {
      return;
    }
    const id = responses.find((r) => r.correlationData)?.correlationData;
    if (id) waiting.get(id)?.(responses);
  });
  await client.subscribeAsync(`${CONTROL}/response`, { qos: 1 });

  // One request at a time: the plugin works through them in order anyway, and each one's time
  // limit then counts from when the broker can start on it, not from when a burst was queued.
  let queue: Promise<unknown> = Promise.resolve();
  const run = (commands: DynsecCommand[]): Promise<void> => {
    const done = queue.then(() => send(commands));
    queue = done.catch(() => {});
    return done;
  };
  const send = async (commands: DynsecCommand[]): Promise<void> => {
    const id = randomUUID();
    // The broker answers a batch in order and echoes correlationData per command.
    const tagged = commands.map((c) => ({ ...c, correlationData: id }));
    const answered = new Promise<DynsecResponse[]>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          waiting.delete(id);
          reject(new WalkoutError('BROKER_REFUSED', `no answer from the broker's dynamic security in time`));
        },
        CONTROL_TIMEOUT_MS + CONTROL_MS_PER_COMMAND * commands.length,
      );
      waiting.set(id, (r) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(r);
      });
    });
    await client.publishAsync(CONTROL, JSON.stringify({ commands: tagged }), { qos: 0 });
    for (const r of await answered) {
      if (!r.error || /not found/i.test(r.error)) continue;
      throw new WalkoutError('BROKER_REFUSED', `${r.command}: ${r.error}`, { command: r.command });
    }
  };

  const deletion = (username: string): DynsecCommand[] => [
    { command: 'deleteClient', username },
    { command: 'deleteRole', rolename: roleOf(username) },
  ];
  return {
    grant: async (g) => run(dynsecCommands(g)),
    grantAll: async (gs) => (gs.length ? run(gs.flatMap(dynsecCommands)) : undefined),
    revoke: async (username) => run(deletion(username)),
    revokeAll: async (us) => (us.length ? run(us.flatMap(deletion)) : undefined),
    // What was asked before close is still answered.
    close: async () => {
      await queue;
      await client.endAsync();
    },
  };
}

/** What a client passes to mqtt.connect: nothing on a broker without accounts. */
export type BrokerLogin = { username: string; password: string } | Record<string, never>;

/**
 * Makes an account with a fresh password for one client (a simulated device, a test's observer);
 * on a broker without an authority, the client connects anonymously.
 */
export async function provisionClient(
  authority: MqttAuthority | undefined,
  username: string,
  identity: BrokerIdentity,
): Promise<BrokerLogin> {
  if (!authority) return {};
  const password = randomBytes(18).toString('base64url');
  await authority.grant({ username, password, identity });
  return { username, password };
}

/** provisionClient for many clients in one request; the logins come back in the same order. */
export async function provisionClients(
  authority: MqttAuthority | undefined,
  clients: readonly { username: string; identity: BrokerIdentity }[],
): Promise<BrokerLogin[]> {
  if (!authority) return clients.map(() => ({}));
  const grants = clients.map((c) => ({ ...c, password: randomBytes(18).toString('base64url') }));
  await authority.grantAll(grants);
  return grants.map(({ username, password }) => ({ username, password }));
}
