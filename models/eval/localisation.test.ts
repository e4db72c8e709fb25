import { describe, expect, it } from 'vitest';
import { LocalisationAccumulator } from './localisation.ts';
import type { GtBox, ScoredBox } from './metrics.ts';

const gt = (x: number, size: number, visibility = 1): GtBox => ({
  classIndex: 3,
  x,
  y: 100,
  w: size,
  h: size,
  visibility,
});
/** A detection sharing the object's centre, `scale` times its side. */
const around = (g: GtBox, scale: number): ScoredBox => {
  const s = g.w * scale;
  return { classIndex: 3, score: 0.9, x: g.x + g.w / 2 - s / 2, y: g.y + g.h / 2 - s / 2, w: s, h: s };
};

describe('LocalisationAccumulator', () => {
  it('tells boxes that find an object from boxes that fit it, by size', () => {
    const small = [gt(0, 8), gt(50, 8)];
    const large = [gt(200, 40), gt(300, 40)];
    const acc = new LocalisationAccumulator();
    // Small objects: one box 1.5× too wide (IoU 1/2.25, found but not fit), one missed.
    // Large objects: both boxed exactly. An ignore region (hidden) and its box count for nothing.
    const hidden = gt(400, 40, 0.1);
    acc.add(
      [around(small[0]!, 1.5), around(large[0]!, 1), around(large[1]!, 1), around(hidden, 2)],
      [...small, ...large, hidden],
    );
    const [lo, hi] = acc.bands([0.5]);
    expect(lo).toMatchObject({ minPx: 8, maxPx: 8, objects: 2, found: 0.5, fit: 0 });
    expect(lo!.medianIou).toBeCloseTo(1 / 2.25, 6);
    expect(lo!.sizeRatio).toBeCloseTo(1.5, 6);
    expect(hi).toMatchObject({ minPx: 40, maxPx: 40, objects: 2, found: 1, fit: 1, medianIou: 1 });
    expect(hi!.sizeRatio).toBeCloseTo(1, 6);
  });

  it('takes the best-overlapping box per object and reports nothing without objects', () => {
    const acc = new LocalisationAccumulator();
    expect(acc.bands()).toEqual([]);
    const g = gt(0, 20);
    acc.add([around(g, 3), around(g, 0.8)], [g]);
    const [band] = acc.bands([]);
    expect(band!.medianIou).toBeCloseTo(0.64, 6);
    expect(band!.sizeRatio).toBeCloseTo(0.8, 6);
    expect(band!.fit).toBe(1);
  });
});
