import { describe, expect, it } from 'vitest';
import { WalkoutError } from '../../proto/index.ts';
import { Rejections } from './rejections.ts';
import { recordingLogger } from './test-log.ts';

describe('Rejections', () => {
  it('counts every rejection by code but logs a flood at a bounded rate, saying how many went unlogged', () => {
    const log = recordingLogger();
    let nowMs = 0;
    const r = new Rejections(log, 'MQTT message', () => nowMs, { linesPerPeriod: 5, periodMs: 1_000 });
    for (let i = 0; i < 10_000; i++) {
      r.add(new WalkoutError('PAYLOAD_INVALID', `walkout/s/plates/p${i}/samples: body is not JSON`));
      nowMs += 0.01; // 10,000 in 100 ms
    }
    r.add(new Error('not ours'));
    expect(r.counts()).toEqual({ PAYLOAD_INVALID: 10_000, INTERNAL: 1 });
    expect(log.lines.filter((l) => l.fields.code === 'PAYLOAD_INVALID')).toHaveLength(5);
    // Each line names the code and what was wrong.
    expect(log.lines[0]).toMatchObject({
      level: 'warn',
      msg: 'MQTT message rejected',
      fields: {
        code: 'PAYLOAD_INVALID',
        error: expect.stringContaining('plates/p0/samples: body is not JSON'),
      },
    });
    nowMs += 1_000;
    r.add(new WalkoutError('PAYLOAD_INVALID', 'again'));
    expect(log.lines.at(-1)!.fields).toMatchObject({ unloggedBefore: 9_995, total: 10_001 });
  });
});
