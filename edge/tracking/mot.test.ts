import { describe, expect, it } from 'vitest';
import type { Track } from '../types.ts';
import { floorFrame, motCameraLines, motFloorLines, motId, parseMotFloor } from './mot.ts';

const track = (trackId: string, x: number, y: number, state: Track['state'] = 'confirmed'): Track => ({
  trackId,
  floorXyM: [x, y],
  velocityMps: [0, 0],
  state,
  bornMs: 0,
  lastSeenMs: 0,
  bornXyM: [0, 0],
});

describe('MOTChallenge writers', () => {
  it('writes floor lines for confirmed tracks only, in metres, and reads them back', () => {
    const lines = motFloorLines(floorFrame(1200, 1000, 10), [
      track('t3', 1.23456, 4.5),
      track('t4', 2, 2, 'lost'),
    ]);
    expect(lines).toEqual(['3,3,-1,-1,-1,-1,1,1.235,4.5,0']);
    expect(parseMotFloor(lines.join('\n')).get(3)).toEqual([{ id: 3, xyM: [1.235, 4.5] }]);
  });

  it('writes a camera line per person detection assigned to a track', () => {
    const dets = [
      { classIndex: 0, cls: 'person', score: 0.91234, bbox: { x: 10.04, y: 20, w: 30, h: 40 } },
      { classIndex: 1, cls: 'head', score: 0.9, bbox: { x: 1, y: 1, w: 1, h: 1 } },
      { classIndex: 0, cls: 'person', score: 0.5, bbox: { x: 0, y: 0, w: 5, h: 5 } },
    ];
    expect(motCameraLines(17, dets, ['t12', 't12', null])).toEqual(['17,12,10,20,30,40,0.912,-1,-1,-1']);
  });

  it('numbers tracks by their id', () => {
    expect(motId('t42')).toBe(42);
    expect(() => motId('track')).toThrow(/TRACK_ID_INVALID/);
    expect(() => motId('t')).toThrow(/TRACK_ID_INVALID/);
  });
});
