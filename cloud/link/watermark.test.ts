import { describe, expect, it } from 'vitest';
import { Watermark } from './watermark.ts';

describe('the cumulative acknowledgement', () => {
  it('advances over contiguous seqs only, and jumps when a gap fills', () => {
    const w = new Watermark(0);
    expect([1, 2, 4, 5].map((s) => w.add(s))).toEqual([1, 2, 2, 2]);
    expect(w.waiting).toBe(2);
    expect(w.add(3)).toBe(5);
    expect(w.waiting).toBe(0);
  });

  it('ignores duplicates and seqs already acknowledged, and resumes from what was stored', () => {
    const w = new Watermark(10, [12, 13]);
    expect(w.add(7)).toBe(10);
    expect(w.add(12)).toBe(10);
    expect(w.add(11)).toBe(13);
  });
});

describe('a watermark shared by the streams of one edge', () => {
  it('takes in what another stream stored, never going back', () => {
    const w = new Watermark(3, [5]);
    expect(w.raise(2, [4])).toBe(5);
    expect(w.raise(8, [10, 11])).toBe(8);
    expect(w.waiting).toBe(2);
    expect(w.add(9)).toBe(11);
  });
});
