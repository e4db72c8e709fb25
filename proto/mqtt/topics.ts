/**
 * The MQTT topic tree. Every topic lives under walkout/{storeId}/ so one broker can serve many
 * stores and an ACL can be written per store. docs/mqtt.md is the human-readable copy of this file.
 */
export const TOPIC_ROOT = 'walkout';

export type TopicKind =
  | 'plateSamples'
  | 'gateScan'
  | 'gateCommand'
  | 'gatePassage'
  | 'deviceStatus'
  | 'edgeTracks'
  | 'edgeCarts'
  | 'edgePlates'
  | 'edgeAlerts'
  | 'edgeStats';

export const topics = {
  plateSamples: (storeId: string, plateId: string) => `${TOPIC_ROOT}/${storeId}/plates/${plateId}/samples`,
  gateScan: (storeId: string, gateId: string) => `${TOPIC_ROOT}/${storeId}/gates/${gateId}/scans`,
  gateCommand: (storeId: string, gateId: string) => `${TOPIC_ROOT}/${storeId}/gates/${gateId}/commands`,
  gatePassage: (storeId: string, gateId: string) => `${TOPIC_ROOT}/${storeId}/gates/${gateId}/passages`,
  deviceStatus: (storeId: string, deviceId: string) => `${TOPIC_ROOT}/${storeId}/devices/${deviceId}/status`,
  /** An edge's live state for the store map and the app (docs/mqtt.md, "Live state"). */
  edgeTracks: (storeId: string, edgeId: string) => `${TOPIC_ROOT}/${storeId}/edge/${edgeId}/tracks`,
  edgeCarts: (storeId: string, edgeId: string) => `${TOPIC_ROOT}/${storeId}/edge/${edgeId}/carts`,
  edgePlates: (storeId: string, edgeId: string) => `${TOPIC_ROOT}/${storeId}/edge/${edgeId}/plates`,
  edgeAlerts: (storeId: string, edgeId: string) => `${TOPIC_ROOT}/${storeId}/edge/${edgeId}/alerts`,
  /** An edge's own counters, every few seconds: is it keeping up (frames, link, queues)? */
  edgeStats: (storeId: string, edgeId: string) => `${TOPIC_ROOT}/${storeId}/edge/${edgeId}/stats`,
} as const satisfies Record<TopicKind, (storeId: string, id: string) => string>;

/** Subscription filters, for consumers that want every device of a kind. */
export const filters = {
  all: (storeId: string) => `${TOPIC_ROOT}/${storeId}/#`,
  plateSamples: (storeId: string) => `${TOPIC_ROOT}/${storeId}/plates/+/samples`,
  gateScans: (storeId: string) => `${TOPIC_ROOT}/${storeId}/gates/+/scans`,
  gateCommands: (storeId: string) => `${TOPIC_ROOT}/${storeId}/gates/+/commands`,
  gatePassages: (storeId: string) => `${TOPIC_ROOT}/${storeId}/gates/+/passages`,
  deviceStatus: (storeId: string) => `${TOPIC_ROOT}/${storeId}/devices/+/status`,
  /** Every edge's live state in a store. */
  edgeLive: (storeId: string) => `${TOPIC_ROOT}/${storeId}/edge/+/+`,
  /** One edge's live topics: what that edge (and only it) may publish. */
  edgeOwn: (storeId: string, edgeId: string) => `${TOPIC_ROOT}/${storeId}/edge/${edgeId}/#`,
} as const;

export interface ParsedTopic {
  kind: TopicKind;
  storeId: string;
  /** plate id, gate id, device id or edge id, depending on the kind. */
  id: string;
}

const SHAPES: Record<string, Record<string, TopicKind>> = {
  plates: { samples: 'plateSamples' },
  gates: { scans: 'gateScan', commands: 'gateCommand', passages: 'gatePassage' },
  devices: { status: 'deviceStatus' },
  edge: {
    tracks: 'edgeTracks',
    carts: 'edgeCarts',
    plates: 'edgePlates',
    alerts: 'edgeAlerts',
    stats: 'edgeStats',
  },
};

/**
 * Recognises a Walkout topic; null for anything outside the tree. Every topic is exactly
 * `walkout/{storeId}/{group}/{id}/{leaf}`: no deeper or shallower shape is accepted.
 */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== TOPIC_ROOT) return null;
  const [, storeId, group, id, leaf] = parts as [string, string, string, string, string];
  // Own properties only: `constructor/x/name` must not find Object.prototype's members.
  const leaves = Object.hasOwn(SHAPES, group) ? SHAPES[group] : undefined;
  const kind = leaves && Object.hasOwn(leaves, leaf) ? leaves[leaf] : undefined;
  if (!kind || !storeId || !id) return null;
  return { kind, storeId, id };
}
