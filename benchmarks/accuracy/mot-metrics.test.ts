import { describe, expect, it } from 'vitest';
import { clearMot, idScores, type MotFrame } from './mot-metrics.ts';

const o = (id: string, x: number, y = 0) => ({ id, xyM: [x, y] as [number, number] });

describe('CLEAR MOT on the floor', () => {
  it('counts misses, false positives and the match distance', () => {
    const frames: MotFrame[] = [
      { gt: [o('a', 0), o('b', 5)], hyp: [o('1', 0.1), o('2', 9)] }, // a matched (0.1), b missed, 2 false
      { gt: [o('a', 1)], hyp: [o('1', 1.3)] }, // a matched (0.3)
    ];
    const m = clearMot(frames, 0.5);
    expect(m).toMatchObject({ gt: 3, matches: 2, misses: 1, falsePositives: 1, idSwitches: 0 });
    expect(m.mota).toBeCloseTo(1 - 2 / 3);
    expect(m.motpM).toBeCloseTo(0.2);
  });

  it('counts an ID switch when a person is taken over by another hypothesis, and keeps a match within the threshold even if another is nearer', () => {
    const frames: MotFrame[] = [
      { gt: [o('a', 0)], hyp: [o('1', 0.4), o('2', 3)] },
      // 2 is nearer now, but 1 is still within 0.5 m: a stays with 1 (no switch), 2 is a false positive.
      { gt: [o('a', 0)], hyp: [o('1', 0.45), o('2', 0.05)] },
      // 1 gone: a is matched to 2, a switch.
      { gt: [o('a', 0)], hyp: [o('2', 0.05)] },
    ];
    const m = clearMot(frames, 0.5);
    expect(m).toMatchObject({ matches: 3, falsePositives: 2, misses: 0, idSwitches: 1 });
    expect(m.mota).toBeCloseTo(1 - 3 / 3);
  });
});

describe('IDF1 on the floor', () => {
  it('pairs whole trajectories: a track that swaps people half way earns half', () => {
    // a and b walk apart; hypothesis 1 follows a for 2 frames then b for 2; 2 the other way round.
    const frames: MotFrame[] = [
      { gt: [o('a', 0), o('b', 5)], hyp: [o('1', 0), o('2', 5)] },
      { gt: [o('a', 0), o('b', 5)], hyp: [o('1', 0), o('2', 5)] },
      { gt: [o('a', 0), o('b', 5)], hyp: [o('1', 5), o('2', 0)] },
      { gt: [o('a', 0), o('b', 5)], hyp: [o('1', 5), o('2', 0)] },
    ];
    const s = idScores(frames, 0.5);
    expect(s.idtp).toBe(4);
    expect(s.idf1).toBeCloseTo(0.5);
    expect(clearMot(frames, 0.5).idSwitches).toBe(2);
  });

  it('takes the pairing with the most frames together, not the one pairing the most trajectories', () => {
    // a is with 1 for 10 frames and with 2 for 1; b is with 1 for 5 frames only. Best: a–1 (10), b alone.
    const frames: MotFrame[] = [];
    for (let i = 0; i < 10; i++) frames.push({ gt: [o('a', 0)], hyp: [o('1', 0)] });
    frames.push({ gt: [o('a', 0)], hyp: [o('2', 0)] });
    for (let i = 0; i < 5; i++) frames.push({ gt: [o('b', 0)], hyp: [o('1', 0)] });
    const s = idScores(frames, 0.5);
    expect(s.idtp).toBe(10);
    expect(s.mapping.get('a')).toBe('1');
    expect(s.idfn).toBe(16 - 10);
    expect(s.idfp).toBe(16 - 10);
    expect(s.idf1).toBeCloseTo((2 * 10) / 32);
  });

  it('scores a perfect tracker 1 and an empty one 0', () => {
    const frames: MotFrame[] = [{ gt: [o('a', 0), o('b', 2)], hyp: [o('x', 0.2), o('y', 2.2)] }];
    expect(idScores(frames, 0.5).idf1).toBe(1);
    expect(idScores([{ gt: [o('a', 0)], hyp: [] }], 0.5).idf1).toBe(0);
  });
});
