import { describe, expect, it } from 'vitest';
import {
  decodeHeldItem,
  distanceToBox,
  heldItemDetections,
  heldItemProposals,
  heldItemWindow,
  padWindow,
  windowTransform,
} from './held-item.ts';
import { toSource, windowAt } from './preprocess.ts';

/** A [1, 5, A] held-item output from anchors [cx, cy, w, h, score] in window pixels. */
function output(anchors: number[][]): { data: Float32Array; dims: number[] } {
  const A = anchors.length;
  const data = new Float32Array(5 * A);
  anchors.forEach((v, a) => {
    v.forEach((x, k) => {
      data[k * A + a] = x;
    });
  });
  return { data, dims: [1, 5, A] };
}

const opts = { scoreThreshold: 0.3, nmsIou: 0.5, reachPx: 8, windowPx: 80 };

describe('windowAt', () => {
  // Pixel (x, y) of a 10×6 image holds (x, y, 7).
  const rgb = new Uint8Array(10 * 6 * 3);
  for (let y = 0; y < 6; y++) for (let x = 0; x < 10; x++) rgb.set([x, y, 7], (y * 10 + x) * 3);
  const img = { rgb, width: 10, height: 6 };

  it('cuts the window centred on the nearest pixel at full resolution, padding outside the image', () => {
    const { hwc, transform } = windowAt(img, 1.6, 0.4, 4, 114);
    expect(transform).toEqual({ scaleX: 1, scaleY: 1, padX: 0, padY: 0, offsetX: 0, offsetY: -2 });
    const px = (x: number, y: number) => Array.from(hwc.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([114, 114, 114]); // above the image
    expect(px(0, 2)).toEqual([0, 0, 7]);
    expect(px(3, 3)).toEqual([3, 1, 7]);
  });

  it('pads a window wholly outside the image', () => {
    const { hwc } = windowAt(img, 50, 50, 4, 9);
    expect(hwc.every((v) => v === 9)).toBe(true);
  });
});

describe('main-stream windows', () => {
  const frame = { width: 640, height: 480 };

  it('centres the window on the nearest detect-stream pixel and reads only its part inside the frame', () => {
    const w = heldItemWindow(10.4, 300.6, 64, 2, frame);
    expect(w.window).toEqual({ x: -22, y: 269, w: 64, h: 64 });
    expect(w.inFrame).toEqual({ x: 0, y: 269, w: 42, h: 64 });
    expect(heldItemWindow(700, 240, 64, 2, frame).inFrame).toBeNull();
    expect(heldItemWindow(320, 240, 64, 2, frame).inFrame).toEqual({ x: 288, y: 208, w: 64, h: 64 });
  });

  it('places the part read at its place in the padded window, at the window scale', () => {
    // A window reaching 2 px past the left edge, at scale 2: the part is 2×4 detect px = 4×8.
    const w = heldItemWindow(0, 2, 4, 2, { width: 10, height: 6 });
    expect(w.inFrame).toEqual({ x: 0, y: 0, w: 2, h: 4 });
    const rgb = new Uint8Array(4 * 8 * 3);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 4; x++) rgb.set([x, y, 7], (y * 4 + x) * 3);
    const hwc = padWindow({ rgb, width: 4, height: 8 }, w, 114);
    expect(hwc.length).toBe(8 * 8 * 3);
    const px = (x: number, y: number) => Array.from(hwc.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3));
    expect(px(3, 0)).toEqual([114, 114, 114]); // left of the frame
    expect(px(4, 0)).toEqual([0, 0, 7]);
    expect(px(7, 7)).toEqual([3, 7, 7]);
  });

  it('refuses a part of the wrong size, naming the sizes', () => {
    const w = heldItemWindow(320, 240, 4, 2, frame);
    expect(() => padWindow({ rgb: new Uint8Array(4 * 4 * 3), width: 4, height: 4 }, w, 114)).toThrow(
      /must be 8×8, got 4×4/,
    );
  });

  it('maps window pixels back to detect-stream pixels', () => {
    const w = heldItemWindow(100, 50, 64, 2, frame);
    expect(toSource({ x: 64, y: 64, w: 10, h: 4 }, windowTransform(w))).toEqual({
      x: 100,
      y: 50,
      w: 5,
      h: 2,
    });
  });
});

describe('decodeHeldItem', () => {
  const t = { scaleX: 1, scaleY: 1, padX: 0, padY: 0, offsetX: 100, offsetY: 50 };

  it('keeps boxes within reach of the centre, in source pixels', () => {
    const { data, dims } = output([
      [42, 38, 10, 6, 0.9], // covers the centre
      [10, 10, 8, 8, 0.95], // an item at the window's corner: another hand's
      [52, 40, 10, 10, 0.6], // 7 px from the centre: within reach
      [40, 40, 10, 10, 0.1], // below the threshold
    ]);
    const found = decodeHeldItem(data, dims, opts, t, 640, 480);
    expect(found.map((f) => Math.round(f.score * 100) / 100)).toEqual([0.9, 0.6]);
    expect(found[0]!.bbox).toEqual({ x: 137, y: 85, w: 10, h: 6 });
  });

  it('clips a box to the image', () => {
    const { data, dims } = output([[40, 40, 20, 20, 0.9]]);
    const edge = { ...t, offsetX: -35, offsetY: 0 };
    expect(decodeHeldItem(data, dims, opts, edge, 640, 480)[0]!.bbox).toEqual({ x: 0, y: 30, w: 15, h: 20 });
  });
});

describe('proposals and merging', () => {
  it('proposes hands and items above the score', () => {
    const box = { x: 0, y: 0, w: 1, h: 1 };
    const dets = [
      { cls: 'hand', score: 0.5, bbox: box },
      { cls: 'item', score: 0.22, bbox: box },
      { cls: 'hand', score: 0.05, bbox: box },
      { cls: 'head', score: 0.9, bbox: box },
    ];
    expect(heldItemProposals(dets)).toHaveLength(2);
    expect(heldItemProposals(dets, 0.01)).toHaveLength(3);
  });

  it('scores an item by its proposal too, and keeps one box per item', () => {
    const found = [
      { proposal: 0, score: 0.7, bbox: { x: 10, y: 10, w: 10, h: 10 } },
      { proposal: 1, score: 0.8, bbox: { x: 11, y: 10, w: 10, h: 10 } },
      { proposal: 2, score: 0.5, bbox: { x: 40, y: 10, w: 10, h: 10 } },
    ];
    const proposals = [{ score: 0.81 }, { score: 0.25 }, { score: 1 }];
    const merged = heldItemDetections(proposals, found, 0.5, 0.5);
    // 0.7 × 0.9 beats 0.8 × 0.5 for the same item.
    expect(merged.map((m) => [m.proposal, Math.round(m.score * 1000) / 1000])).toEqual([
      [0, 0.63],
      [2, 0.5],
    ]);
    expect(heldItemDetections(proposals, found, 0.5, 0).map((m) => m.proposal)).toEqual([1, 2]);
  });

  it('measures the distance from a point to a box', () => {
    const b = { x: 10, y: 10, w: 10, h: 10 };
    expect(distanceToBox(15, 15, b)).toBe(0);
    expect(distanceToBox(23, 24, b)).toBe(5);
  });
});
