import { describe, expect, it } from 'vitest';
import { armStrip } from './arm-link.ts';
import type { RawImage } from './preprocess.ts';

/** A grey frame with a red line of pixels from (20, 30) to (80, 70): an arm, as the strip should lay it. */
function frameWithArm(): RawImage {
  const width = 120;
  const height = 100;
  const rgb = new Uint8Array(width * height * 3).fill(60);
  for (let t = 0; t <= 1; t += 0.002) {
    const x = Math.round(20 + 60 * t);
    const y = Math.round(30 + 40 * t);
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) rgb.set([250, 0, 0], ((y + dy) * width + x + dx) * 3);
  }
  return { rgb, width, height };
}

const red = (s: Uint8Array, w: number, i: number, j: number) => s[(j * w + i) * 3]! > 200;

describe('the arm-link strip', () => {
  it('lays the line from hand to head along its middle row, the hand at handAtPx', () => {
    const img = frameWithArm();
    const len = Math.hypot(60, 40);
    const s = armStrip(img, { hand: [20, 30], head: [80, 70] }, 100, 20, 10);
    expect(s.length).toBe(100 * 20 * 3);
    for (let i = 10; i <= 10 + Math.floor(len) - 1; i++) expect(red(s, 100, i, 10)).toBe(true);
    // Off the middle row by 5 px, and before the hand, the frame's grey.
    expect(red(s, 100, 30, 3)).toBe(false);
    expect(red(s, 100, 30, 17)).toBe(false);
    expect(red(s, 100, 4, 10)).toBe(false);
  });

  it('turns with the pair: the same arm seen from the head is laid from the other end', () => {
    const img = frameWithArm();
    const s = armStrip(img, { hand: [80, 70], head: [20, 30] }, 100, 20, 10);
    expect(red(s, 100, 40, 10)).toBe(true);
    expect(red(s, 100, 40, 4)).toBe(false);
  });

  it('pads what lies outside the frame', () => {
    const img = frameWithArm();
    const s = armStrip(img, { hand: [110, 90], head: [119, 99] }, 40, 10, 4, 114);
    expect(Array.from(s.subarray(-3))).toEqual([114, 114, 114]);
  });

  it('refuses a pair that is not finite numbers, naming it', () => {
    expect(() => armStrip(frameWithArm(), { hand: [Number.NaN, 3], head: [1, 2] }, 10, 4, 2)).toThrow(
      /IMAGE_INVALID.*arm pair/,
    );
  });
});
