import { WalkoutError } from '../errors.ts';
import { filters, topics } from './topics.ts';

/**
 * Who a broker client is. Each role is one kind of thing on the store network; what it may publish
 * and subscribe follows from the role alone (aclFor), so Mosquitto's dynamic-security roles and the
 * embedded broker's hooks are both written from this one function and cannot disagree.
 */
export const BROKER_ROLES = [
  'plate',
  'scanner',
  'gate-sensor',
  'gate',
  'camera',
  'edge',
  'authority',
  'observer',
] as const;
export type BrokerRole = (typeof BROKER_ROLES)[number];

export interface BrokerIdentity {
  role: BrokerRole;
  storeId: string;
  /** The device's own id: the level of its status topic (and, for a plate, of its samples topic). */
  deviceId: string;
  /** The gates a scanner, beam sensor or gate controller belongs to; ignored for other roles. */
  gateIds?: readonly string[];
}

/** MQTT topic filters (`+`, `#` allowed) a client may publish to and subscribe to. */
export interface TopicAcl {
  publish: string[];
  subscribe: string[];
}

/** An id becomes one topic level: a `/`, `+` or `#` in it would widen the grant beyond the device. */
function level(what: string, id: string): string {
  if (id.length === 0 || /[/+#]/.test(id) || id.includes('\0'))
    throw new WalkoutError('BROKER_IDENTITY_INVALID', `${what} "${id}" cannot be an MQTT topic level`, {
      [what]: id,
    });
  return id;
}

function gatesOf(who: BrokerIdentity): string[] {
  const ids = who.gateIds ?? [];
  if (ids.length === 0)
    throw new WalkoutError('BROKER_IDENTITY_INVALID', `a ${who.role} needs the gate(s) it belongs to`, {
      deviceId: who.deviceId,
    });
  return ids.map((g) => level('gateId', g));
}

/**
 * The least each kind of client needs. Gate commands: a gate controller announces the decisions it
 * executes for its own gates (it asked the cloud over HTTP, or decided locally), and a store's
 * authority (the cloud, or an edge standing in for it) may command any of the store's gates; no
 * other client may publish a command.
 */
export function aclFor(who: BrokerIdentity): TopicAcl {
  const store = level('storeId', who.storeId);
  const device = level('deviceId', who.deviceId);
  const status = topics.deviceStatus(store, device);
  switch (who.role) {
    case 'plate':
      return { publish: [topics.plateSamples(store, device), status], subscribe: [] };
    case 'scanner':
      return { publish: [...gatesOf(who).map((g) => topics.gateScan(store, g)), status], subscribe: [] };
    case 'gate-sensor':
      return { publish: [...gatesOf(who).map((g) => topics.gatePassage(store, g)), status], subscribe: [] };
    case 'gate': {
      const commands = gatesOf(who).map((g) => topics.gateCommand(store, g));
      return { publish: [...commands, status], subscribe: commands };
    }
    case 'camera':
      return { publish: [status], subscribe: [] };
    case 'edge':
      // Its live state under its own id only: one edge cannot speak for another edge's tracks.
      return { publish: [filters.edgeOwn(store, device), status], subscribe: [filters.all(store)] };
    case 'authority':
      return { publish: [filters.gateCommands(store), status], subscribe: [filters.all(store)] };
    case 'observer':
      return { publish: [], subscribe: [filters.all(store)] };
    default:
      throw new WalkoutError('BROKER_IDENTITY_INVALID', `unknown broker role "${String(who.role)}"`);
  }
}

/** Whether a concrete topic (no wildcards) matches a filter, by MQTT's rules (`$` topics need a `$` filter). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && !filter.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Whether every topic a subscription filter can match is matched by a granted filter: `walkout/s/#`
 * covers `walkout/s/gates/+/scans`, but `walkout/s/gates/g1/commands` does not cover `walkout/s/#`.
 */
export function filterCovered(granted: string, filter: string): boolean {
  const g = granted.split('/');
  const f = filter.split('/');
  for (let i = 0; i < g.length; i++) {
    if (g[i] === '#') return i === g.length - 1;
    if (i >= f.length) return false;
    if (f[i] === '#') return false;
    if (g[i] !== '+' && g[i] !== f[i]) return false;
  }
  return g.length === f.length;
}

export function mayPublish(acl: TopicAcl, topic: string): boolean {
  return acl.publish.some((p) => topicMatches(p, topic));
}

export function maySubscribe(acl: TopicAcl, filter: string): boolean {
  return acl.subscribe.some((p) => filterCovered(p, filter));
}
