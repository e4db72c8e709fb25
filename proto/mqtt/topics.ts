/**
 * The MQTT topic tree. Every topic lives under walkout/{storeId}/ so one broker can serve many
 * stores and an ACL can be written per store. docs/mqtt.md is the human-readable copy of this file.
 */
export const TOPIC_ROOT = 'walkout';

export type TopicKind = 'plateSamples' | 'gateScan' | 'gateCommand' | 'gatePassage' | 'deviceStatus';

export const topics = {
  plateSamples: (storeId: string, plateId: string) => `${TOPIC_ROOT}/${storeId}/plates/${plateId}/samples`,
  gateScan: (storeId: string, gateId: string) => `${TOPIC_ROOT}/${storeId}/gates/${gateId}/scans`,
  gateCommand: (storeId: string, gateId: string) => `${TOPIC_ROOT}/${storeId}/gates/${gateId}/commands`,
  gatePassage: (storeId: string, gateId: string) => `${TOPIC_ROOT}/${storeId}/gates/${gateId}/passages`,
  deviceStatus: (storeId: string, deviceId: string) => `${TOPIC_ROOT}/${storeId}/devices/${deviceId}/status`,
} as const satisfies Record<TopicKind, (storeId: string, id: string) => string>;

/** Subscription filters, for consumers that want every device of a kind. */
export const filters = {
  all: (storeId: string) => `${TOPIC_ROOT}/${storeId}/#`,
  plateSamples: (storeId: string) => `${TOPIC_ROOT}/${storeId}/plates/+/samples`,
  gateScans: (storeId: string) => `${TOPIC_ROOT}/${storeId}/gates/+/scans`,
  gateCommands: (storeId: string) => `${TOPIC_ROOT}/${storeId}/gates/+/commands`,
  gatePassages: (storeId: string) => `${TOPIC_ROOT}/${storeId}/gates/+/passages`,
  deviceStatus: (storeId: string) => `${TOPIC_ROOT}/${storeId}/devices/+/status`,
} as const;

export interface ParsedTopic {
  kind: TopicKind;
  storeId: string;
  /** plate id, gate id or device id, depending on the kind. */
  id: string;
}

const SHAPES: Record<string, Record<string, TopicKind>> = {
  plates: { samples: 'plateSamples' },
  gates: { scans: 'gateScan', commands: 'gateCommand', passages: 'gatePassage' },
  devices: { status: 'deviceStatus' },
};

/** Recognises a Walkout topic; null for anything outside the tree. */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== TOPIC_ROOT) return null;
  const [, storeId, group, id, leaf] = parts as [string, string, string, string, string];
  const kind = SHAPES[group]?.[leaf];
  if (!kind || !storeId || !id) return null;
  return { kind, storeId, id };
}
