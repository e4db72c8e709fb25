import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Camera } from '../../proto/index.ts';
import type { FrameLabels, Label } from '../render/types.ts';
import { createMotWriter } from './mot.ts';

const cam = (id: string): Camera => ({
  id,
  positionM: [0, 0, 3],
  yawDeg: 0,
  pitchDeg: 0,
  rollDeg: 0,
  resolution: { width: 640, height: 480 },
  lens: { hfovDeg: 115 },
  fps: 10,
});

const person = (personId: string, x: number, visibility = 1): Label => ({
  kind: 'person',
  personId,
  bbox: { x, y: 20, w: 30, h: 40 },
  visibility,
  visiblePx: 100,
  drawnPx: 100,
});

const frame = (cameraId: string, frameIndex: number, labels: Label[]): FrameLabels => ({
  cameraId,
  frameIndex,
  tsMs: frameIndex * 100,
  width: 640,
  height: 480,
  labels,
});

describe('MOTChallenge ground truth writer', () => {
  it('writes gt.txt sorted by frame then track id, person boxes only, with seqinfo.ini', () => {
    const mot = createMotWriter([cam('c1'), cam('c2')]);
    // Frames arrive out of order and persons in any order; heads, hands and items are not tracks.
    mot.add('c1', 2, frame('c1', 2, [person('zoe', 100, 0.5), person('adam', 10)]));
    mot.add('c1', 1, frame('c1', 1, [person('adam', 11), { ...person('adam', 12), kind: 'head' }]));
    mot.add('c2', 1, frame('c2', 1, [person('zoe', 200, 0.25)]));
    mot.add('c1', 3, frame('c1', 3, []));
    const dir = mkdtempSync(join(tmpdir(), 'walkout-mot-'));
    mot.write(dir);
    expect(readFileSync(join(dir, 'mot/c1/gt/gt.txt'), 'utf8')).toBe(
      ['1,2,12,21,30,40,1,1,1', '2,1,101,21,30,40,1,1,0.5', '2,2,11,21,30,40,1,1,1', ''].join('\n'),
    );
    // Track ids are per person across cameras, in order of first sight.
    expect(readFileSync(join(dir, 'mot/c2/gt/gt.txt'), 'utf8')).toBe('1,1,201,21,30,40,1,1,0.25\n');
    expect(mot.trackId('zoe')).toBe(1);
    expect(mot.trackId('adam')).toBe(2);
    expect(readFileSync(join(dir, 'mot/c1/seqinfo.ini'), 'utf8')).toBe(
      [
        '[Sequence]',
        'name=c1',
        'imDir=img1',
        'frameRate=10',
        'seqLength=3',
        'imWidth=640',
        'imHeight=480',
        'imExt=.jpg',
        '',
      ].join('\n'),
    );
    const line = readFileSync(join(dir, 'mot/c1/gt/gt.txt'), 'utf8').split('\n')[0]!.split(',');
    expect(line).toHaveLength(9);
  });

  it('makes 0-based frame indexes 1-based', () => {
    const mot = createMotWriter([cam('c1')]);
    mot.add('c1', 0, frame('c1', 0, [person('p', 5)]));
    mot.add('c1', 1, frame('c1', 1, [person('p', 6)]));
    const dir = mkdtempSync(join(tmpdir(), 'walkout-mot-'));
    mot.write(dir);
    expect(readFileSync(join(dir, 'mot/c1/gt/gt.txt'), 'utf8')).toBe(
      '1,1,6,21,30,40,1,1,1\n2,1,7,21,30,40,1,1,1\n',
    );
    expect(readFileSync(join(dir, 'mot/c1/seqinfo.ini'), 'utf8')).toContain('seqLength=2\n');
  });

  it('rejects labels for a camera it does not know', () => {
    const mot = createMotWriter([cam('c1')]);
    expect(() => mot.add('c9', 1, frame('c9', 1, []))).toThrow(/unknown camera/);
  });
});
