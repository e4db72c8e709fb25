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

  it('rejects topics outside the tree with TOPIC_UNKNOWN', () => {
    expect(() => decodeMessage('walkout/s/toasters/t1/status', '{}')).toThrow(/TOPIC_UNKNOWN/);
  });
});
