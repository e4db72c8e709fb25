import { describe, expect, it } from 'vitest';
import { isWalkoutError } from '../../proto/index.ts';
import { FrameFlow } from './frame-flow.ts';

const T0 = 1_767_603_600_000;
/** A 10 fps camera's frames as the simulator captures them: one every 100 ms from T0 + 50. */
const frames = (cameraId: string, n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => ({
    cameraId,
    frameIndex: from + i,
    captureMs: T0 + 50 + (from + i - 1) * 100,
  }));

describe('FrameFlow', () => {
  it('thins a 10 fps camera to 5 by capture time: every other frame, the same ones every time', () => {
    const taken = () => {
      const flow = new FrameFlow<ReturnType<typeof frames>[number]>({ detectFps: 5 });
      const out: number[] = [];
      for (const f of frames('cam-1', 40)) if (flow.offer(f)) out.push(flow.take()!.frameIndex);
      return { out, counters: flow.counters()['cam-1']! };
    };
    const a = taken();
    expect(a.out).toHaveLength(20);
    // One frame per 200 ms interval of the store clock, whatever the phase.
    const buckets = a.out.map((i) => Math.floor((T0 + 50 + (i - 1) * 100) / 200));
    expect(new Set(buckets).size).toBe(20);
    expect(taken().out).toEqual(a.out);
    expect(a.counters).toEqual({ received: 40, processed: 0, dropped: 20 });
  });

  it('keeps only the newest frame per camera: a frame replaced before it was taken is dropped', () => {
    const flow = new FrameFlow<ReturnType<typeof frames>[number]>();
    for (const f of frames('cam-1', 100)) flow.offer(f);
    expect(flow.waiting()).toBe(1);
    const f = flow.take()!;
    expect(f.frameIndex).toBe(100);
    flow.markProcessed(f.cameraId);
    expect(flow.take()).toBeNull();
    const c = flow.counters()['cam-1']!;
    expect(c).toEqual({ received: 100, processed: 1, dropped: 99 });
    expect(c.received - c.processed).toBe(c.dropped);
  });

  it('hands out waiting frames round-robin over cameras, so a busy camera cannot starve another', () => {
    const flow = new FrameFlow<ReturnType<typeof frames>[number]>();
    const order: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const id of ['cam-a', 'cam-b', 'cam-c']) flow.offer(frames(id, 1, round + 1)[0]!);
      // cam-a has a new frame every time it is asked; the others too, but they must get their turn.
      for (let i = 0; i < 2; i++) {
        const f = flow.take()!;
        order.push(f.cameraId);
        flow.offer(frames(f.cameraId, 1, 10 + round * 2 + i)[0]!);
      }
      while (flow.take()) {}
    }
    expect(order.slice(0, 3)).toEqual(['cam-a', 'cam-b', 'cam-c']);
    expect(new Set(order.slice(3, 6)).size).toBe(3);
  });

  it('counts per camera, and a taken frame that could not be used as dropped', () => {
    const flow = new FrameFlow<ReturnType<typeof frames>[number]>({ detectFps: { 'cam-a': 5 } });
    flow.addCamera('cam-z');
    for (const f of frames('cam-a', 4)) if (flow.offer(f)) flow.take();
    for (const f of frames('cam-b', 4)) if (flow.offer(f)) flow.markDropped(flow.take()!.cameraId);
    expect(flow.counters()).toEqual({
      'cam-z': { received: 0, processed: 0, dropped: 0 },
      'cam-a': { received: 4, processed: 0, dropped: 2 },
      'cam-b': { received: 4, processed: 0, dropped: 4 },
    });
  });

  it('refuses a detection rate that is not a number >= 0', () => {
    for (const detectFps of [-1, Number.NaN, { 'cam-a': Number.POSITIVE_INFINITY }]) {
      let err: unknown;
      try {
        new FrameFlow({ detectFps });
      } catch (e) {
        err = e;
      }
      expect(isWalkoutError(err, 'CONFIG_INVALID')).toBe(true);
    }
  });
});
