import { describe, expect, it } from 'vitest';
import type { Label } from '../../simulator/render/types.ts';
import { personCrops, REID_MIN_HEAD_VISIBILITY, type SampledFrame, visibleItems } from './sample.ts';

const W = 160;
const H = 120;
const RED = [220, 30, 30];
const BLUE = [30, 30, 220];

/** A frame that is blue except for red pixels inside `red`. */
function frameWith(red: Label['bbox'], labels: Label[]): SampledFrame {
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const inside = x >= red.x && x < red.x + red.w && y >= red.y && y < red.y + red.h;
      rgb.set(inside ? RED : BLUE, (y * W + x) * 3);
    }
  return { cameraId: 'cam-1', image: { rgb, width: W, height: H }, labels };
}

function label(
  kind: Label['kind'],
  personId: string,
  bbox: Label['bbox'],
  visibleBox = bbox,
  visibility = 1,
): Label {
  return { kind, personId, bbox, visibleBox, visibility, visiblePx: 100, drawnPx: 100 };
}

describe('person crops for re-identification', () => {
  const shown = { x: 40, y: 20, w: 40, h: 60 };
  // The whole person reaches further down, behind a shelf that the camera sees instead.
  const whole = { x: 40, y: 20, w: 40, h: 100 };

  it('crops what the camera shows of a person whose head is in view', async () => {
    const frame = frameWith(shown, [
      label('person', 'A', whole, shown),
      label('head', 'A', { x: 50, y: 22, w: 12, h: 12 }),
    ]);
    const crops = await personCrops(frame, 32);
    expect(crops.map((c) => [c.personId, c.headInView])).toEqual([['A', true]]);
    // Every pixel of the crop is the person's (red), none is the shelf in front of the hidden part.
    const px = crops[0]!.hwc;
    let blue = 0;
    for (let i = 0; i < px.length; i += 3) if (px[i + 2]! > px[i]!) blue++;
    expect(blue).toBe(0);
  });

  it('marks a person whose head is out of view or hidden, however much of the rest shows', async () => {
    const head = { x: 50, y: 22, w: 12, h: 12 };
    const frame = frameWith(shown, [
      label('person', 'legs-only', shown),
      label('person', 'head-hidden', shown),
      label('head', 'head-hidden', head, head, REID_MIN_HEAD_VISIBILITY - 0.1),
      label('person', 'someone', shown),
      label('head', 'someone-else', head),
      label('person', 'someone-else', shown),
    ]);
    const crops = await personCrops(frame, 32);
    expect(crops.map((c) => [c.personId, c.headInView])).toEqual([
      ['legs-only', false],
      ['head-hidden', false],
      ['someone', false],
      ['someone-else', true],
    ]);
  });
});

describe('visible items', () => {
  it('judges an item by what shows of it, not by where it is', () => {
    const hand = { x: 10, y: 10, w: 12, h: 12 };
    const labels = [
      { ...label('item', 'A', hand, { x: 10, y: 10, w: 2, h: 2 }), sku: 'cola-330' },
      { ...label('item', 'B', hand), sku: 'cola-330' },
    ];
    expect(visibleItems(labels, 0.5, 3).map((l) => l.personId)).toEqual(['B']);
  });
});
