import { describe, expect, it } from 'vitest';
import { recordingLogger } from './io/test-log.ts';
import { LooksInFlight } from './looks.ts';
import type { LookAnswer, LookRequest } from './types.ts';

const request = (eventId: string, frameIndex: number): LookRequest => ({
  eventId,
  shelfId: 'S1',
  plateIds: ['S1-P1'],
  direction: 'put',
  candidates: ['cola'],
  askedMs: frameIndex * 100,
  deadlineMs: frameIndex * 100 + 1500,
  views: [{ cameraId: 'cam-1', frameIndex, captureMs: frameIndex * 100, bboxPx: { x: 0, y: 0, w: 8, h: 8 } }],
});
const answer = (p: number): LookAnswer => ({
  probabilities: { cola: p },
  candidateMass: 1,
  unknown: false,
  looked: [],
});

describe('second looks in flight', () => {
  it('a look asked again while the first runs is run after it, and only its answer is given', async () => {
    const asked: number[] = [];
    const release: (() => void)[] = [];
    const looks = new LooksInFlight(async (r) => {
      const frame = r.views[0]!.frameIndex;
      asked.push(frame);
      await new Promise<void>((resolve) => release.push(resolve));
      return answer(frame / 10);
    }, recordingLogger());
    looks.start(request('S1@1', 1));
    // The put-back changed before it was final: its look is asked anew on later frames.
    looks.start(request('S1@1', 5));
    looks.start(request('S1@1', 7));
    expect(asked).toEqual([1]);
    release.shift()!();
    await new Promise((r) => setImmediate(r));
    // The first answer is not given; the newest request runs (the middle one was overtaken).
    expect(looks.take()).toEqual([]);
    expect(asked).toEqual([1, 7]);
    expect(looks.inFlight).toBe(1);
    release.shift()!();
    await looks.all();
    expect(looks.take()).toEqual([{ eventId: 'S1@1', answer: answer(0.7) }]);
  });

  it('without a look stage every look answers nothing at once; a failed look answers nothing', async () => {
    const none = new LooksInFlight(undefined, recordingLogger());
    none.start(request('S1@1', 1));
    expect(none.take()).toEqual([{ eventId: 'S1@1', answer: null }]);
    const log = recordingLogger();
    const failing = new LooksInFlight(async () => {
      throw new Error('worker gone');
    }, log);
    failing.start(request('S1@2', 1));
    await failing.all();
    expect(failing.take()).toEqual([{ eventId: 'S1@2', answer: null }]);
    expect(log.lines.map((l) => l.level)).toEqual(['warn']);
  });
});
