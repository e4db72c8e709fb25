import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isWalkoutError } from '../errors.ts';
import { decodeMessage } from './payloads.ts';
import { parseTopic, topics } from './topics.ts';

describe('MQTT contract', () => {
  it('round-trips every topic through parseTopic', () => {
    for (const [kind, make] of Object.entries(topics)) {
      expect(parseTopic(make('store-1', 'dev-9'))).toEqual({ kind, storeId: 'store-1', id: 'dev-9' });
    }
    expect(parseTopic('walkout/store-1/plates/p1/weights')).toBeNull();
    expect(parseTopic('other/store-1/plates/p1/samples')).toBeNull();
    // Strict shape: no deeper edge topics, no Object.prototype members taken for a group or leaf.
    expect(parseTopic('walkout/store-1/edge/e1/tracks/extra')).toBeNull();
    expect(parseTopic('walkout/store-1/edge/e1')).toBeNull();
    expect(parseTopic('walkout/store-1/edge/e1/status')).toBeNull();
    expect(parseTopic('walkout/store-1/constructor/x/name')).toBeNull();
    expect(parseTopic('walkout/store-1/edge/e1/toString')).toBeNull();
  });

  // The examples docs/mqtt.md shows, one per live topic: each must decode as its kind.
  const live: [string, string, object][] = [
    [
      'edgeTracks',
      topics.edgeTracks('s', 'edge-1'),
      {
        edgeId: 'edge-1',
        tsMs: 1767603605200,
        tracks: [
          {
            type: 'update',
            trackId: 't-17',
            floorXyM: [4.21, 7.9],
            velocityMps: [0.6, -0.1],
            state: 'confirmed',
            visitId: 'v-8f2c',
            memberNo: 0,
          },
          { type: 'new', trackId: 't-18', floorXyM: [1.02, 0.4], velocityMps: [0, 0.9], state: 'tentative' },
        ],
      },
    ],
    [
      'edgeCarts',
      topics.edgeCarts('s', 'edge-1'),
      {
        edgeId: 'edge-1',
        type: 'update',
        tsMs: 1767603611000,
        visitId: 'v-8f2c',
        members: [
          {
            memberNo: 0,
            inside: true,
            lines: [
              { sku: 'SKU-0042', quantity: 2, grams: 0, confidence: 0.97, evidence: ['G1S2@1767603609800'] },
            ],
          },
        ],
        needsReview: false,
      },
    ],
    [
      'edgePlates',
      topics.edgePlates('s', 'edge-1'),
      {
        edgeId: 'edge-1',
        type: 'update',
        tsMs: 1767603611000,
        plateId: 'G1S2-P3',
        stable: true,
        stock: { 'SKU-0042': 10 },
        health: { status: 'dropout', sinceMs: 1767603600000, detail: '12% samples missing' },
      },
    ],
    [
      'edgeAlerts',
      topics.edgeAlerts('s', 'edge-1'),
      {
        edgeId: 'edge-1',
        type: 'new',
        tsMs: 1767603602400,
        alertId: 'tailgate-gate-in-1767603602300',
        kind: 'tailgate',
        detail: 'two bodies crossed on one scan',
        refs: { visitId: 'v-8f2c' },
      },
    ],
  ];
  for (const [kind, topic, body] of live) {
    it(`accepts an edge's ${kind} message`, () => {
      const msg = decodeMessage(topic, JSON.stringify(body));
      expect(msg).toEqual({ kind, storeId: 's', id: 'edge-1', payload: body });
    });
  }

  it('accepts the edge as a device kind on its status topic', () => {
    const msg = decodeMessage(
      topics.deviceStatus('s', 'edge-1'),
      JSON.stringify({ deviceId: 'edge-1', kind: 'edge', status: 'offline' }),
    );
    expect(msg.payload).toMatchObject({ kind: 'edge', status: 'offline' });
  });

  it('accepts a valid plate batch with a dropout', () => {
    const msg = decodeMessage(
      topics.plateSamples('s', 'P1'),
      JSON.stringify({ plateId: 'P1', seq: 3, t0Ms: 1000, sampleRateHz: 60, grams: [10.5, null, 11] }),
    );
    expect(msg.kind).toBe('plateSamples');
  });

  const rejects: [string, string, string | Buffer, RegExp][] = [
    ['body that is not JSON', topics.gateScan('s', 'g'), '{nope', /not JSON/],
    [
      'a plate id that contradicts the topic',
      topics.plateSamples('s', 'P1'),
      JSON.stringify({ plateId: 'P2', seq: 0, t0Ms: 0, sampleRateHz: 60, grams: [1] }),
      /does not match the topic/,
    ],
    [
      'a deny without a reason',
      topics.gateCommand('s', 'g'),
      JSON.stringify({ commandId: 'c', gateId: 'g', tsMs: 1, action: 'deny' }),
      /reason/,
    ],
    [
      'an unknown direction',
      topics.gatePassage('s', 'g'),
      JSON.stringify({ passageId: 'x', gateId: 'g', sensorId: 'b', tsMs: 1, direction: 'up' }),
      /direction/,
    ],
    [
      'NaN grams smuggled as a string',
      topics.plateSamples('s', 'P1'),
      JSON.stringify({ plateId: 'P1', seq: 0, t0Ms: 0, sampleRateHz: 60, grams: ['NaN'] }),
      /grams\[0\]/,
    ],
    [
      'a live event of no known type',
      topics.edgeAlerts('s', 'e'),
      JSON.stringify({
        edgeId: 'e',
        type: 'gone',
        tsMs: 1,
        alertId: 'a',
        kind: 'tailgate',
        detail: '',
        refs: {},
      }),
      /type/,
    ],
    [
      'an edge id that contradicts the topic (one edge speaking for another)',
      topics.edgeCarts('s', 'e1'),
      JSON.stringify({ edgeId: 'e2', type: 'new', tsMs: 1, visitId: 'v', members: [], needsReview: false }),
      /does not match the topic/,
    ],
    [
      'a track with a field the contract does not have',
      topics.edgeTracks('s', 'e'),
      JSON.stringify({
        edgeId: 'e',
        tsMs: 1,
        tracks: [
          { type: 'new', trackId: 't', floorXyM: [0, 0], velocityMps: [0, 0], state: 'lost', bornMs: 1 },
        ],
      }),
      /bornMs/,
    ],
    [
      'a tracks message with no track',
      topics.edgeTracks('s', 'e'),
      JSON.stringify({ edgeId: 'e', tsMs: 1, tracks: [] }),
      /tracks/,
    ],
    [
      'a fractional stock',
      topics.edgePlates('s', 'e'),
      JSON.stringify({ edgeId: 'e', type: 'new', tsMs: 1, plateId: 'p', stable: true, stock: { a: 0.5 } }),
      /stock/,
    ],
  ];
  for (const [what, topic, body, pattern] of rejects) {
    it(`rejects ${what} with PAYLOAD_INVALID`, () => {
      try {
        decodeMessage(topic, body);
        expect.unreachable();
      } catch (err) {
        expect(isWalkoutError(err, 'PAYLOAD_INVALID')).toBe(true);
        expect((err as Error).message).toMatch(pattern);
      }
    });
  }

  it('decodes every payload example docs/mqtt.md shows (the page cannot drift from the schemas)', () => {
    const page = readFileSync(new URL('../../docs/mqtt.md', import.meta.url), 'utf8');
    const examples = [...page.matchAll(/\*\*(\w+)\*\*(?:(?!\*\*)[\s\S])*?```json\n([\s\S]*?)```/g)];
    const topicOf: Record<string, (p: Record<string, string>) => string> = {
      PlateSamples: (p) => topics.plateSamples('s', p.plateId!),
      GateScan: (p) => topics.gateScan('s', p.gateId!),
      GateCommand: (p) => topics.gateCommand('s', p.gateId!),
      GatePassage: (p) => topics.gatePassage('s', p.gateId!),
      DeviceStatus: (p) => topics.deviceStatus('s', p.deviceId!),
      EdgeTracks: (p) => topics.edgeTracks('s', p.edgeId!),
      EdgeCart: (p) => topics.edgeCarts('s', p.edgeId!),
      EdgePlate: (p) => topics.edgePlates('s', p.edgeId!),
      EdgeAlert: (p) => topics.edgeAlerts('s', p.edgeId!),
      EdgeStats: (p) => topics.edgeStats('s', p.edgeId!),
    };
    expect(examples.map((m) => m[1])).toEqual(Object.keys(topicOf));
    for (const [, name, json] of examples) {
      const body = JSON.parse(json!) as Record<string, string>;
      expect(() => decodeMessage(topicOf[name!]!(body), json!), name).not.toThrow();
    }
  });

  it('rejects topics outside the tree with TOPIC_UNKNOWN', () => {
    expect(() => decodeMessage('walkout/s/toasters/t1/status', '{}')).toThrow(/TOPIC_UNKNOWN/);
  });
});
