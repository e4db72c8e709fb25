import { describe, expect, it } from 'vitest';
import type { FusionOutput } from '../../edge/fusion/outputs.ts';
import { EdgeLatencies } from './latency.ts';

const cartReport = (evidence: string[], tsMs = 0): FusionOutput => ({
  kind: 'report',
  tsMs,
  report: {
    body: 'cart',
    cart: { visitId: 'v1', memberNo: 0, sku: 'sku-1', quantity: 1, grams: 0, confidence: 0.9, evidence },
  },
});
const visitReport = (
  visitId: string,
  kind: 'MEMBER_EXITED' | 'VISIT_CLOSED',
  tsMs: number,
  memberNo = 0,
): FusionOutput => ({ kind: 'report', tsMs, report: { body: 'visit', visit: { visitId, kind, memberNo } } });

describe('EdgeLatencies', () => {
  it('times a frame from being taken to the fusion returning, once', () => {
    const l = new EdgeLatencies();
    l.frameTaken('cam-1', 7, 100);
    l.frameTaken('cam-2', 7, 101);
    expect(l.frameFused('cam-1', 7, 130, 132)).toBe(100);
    expect(l.frameToTrack).toEqual([{ totalMs: 32, detectMs: 30, fusionMs: 2 }]);
    // The same frame again, or one never taken, is not a sample.
    expect(l.frameFused('cam-1', 7, 140, 141)).toBeNull();
    expect(l.frameFused('cam-3', 1, 140, 141)).toBeNull();
    expect(l.frameToTrack).toHaveLength(1);
  });

  it('pairs a settled weight event with the first cart report naming it, in store time plus the step', () => {
    const l = new EdgeLatencies();
    l.weightSettled('shelf-a@900', 1000, 1100, 50);
    l.weightSettled('shelf-b@950', 1050, 1100, 51);
    l.outputs([cartReport(['hand:t1']), cartReport(['weight:shelf-a@900'])], {
      storeMs: 1300,
      wallMs: 60,
      stepWallMs: 7,
    });
    // The event's second plate's lines name it again: not a second sample.
    l.outputs([cartReport(['weight:shelf-a@900'])], { storeMs: 1400, wallMs: 70, stepWallMs: 1 });
    expect(l.weightToCart).toEqual([
      {
        eventId: 'shelf-a@900',
        emitAfterSettleMs: 100,
        storeMs: 200,
        stepWallMs: 7,
        liveMs: 207,
        replayWallMs: 10,
      },
    ]);
    expect(l.weightWithoutCart()).toBe(1);
  });

  it('times a close from the visit’s last exit, and counts a close with no exit seen', () => {
    const l = new EdgeLatencies();
    l.outputs([visitReport('v1', 'MEMBER_EXITED', 5000, 1)], { storeMs: 5000, wallMs: 10, stepWallMs: 0 });
    l.outputs([visitReport('v1', 'MEMBER_EXITED', 6000, 0)], { storeMs: 6000, wallMs: 20, stepWallMs: 0 });
    l.outputs([visitReport('v1', 'VISIT_CLOSED', 6800), visitReport('v2', 'VISIT_CLOSED', 6800)], {
      storeMs: 6800,
      wallMs: 25,
      stepWallMs: 3,
    });
    expect(l.exitToClosed).toEqual([
      { visitId: 'v1', storeMs: 800, stepWallMs: 3, liveMs: 803, replayWallMs: 5 },
    ]);
    expect(l.closedWithoutExit).toBe(1);
  });
});
