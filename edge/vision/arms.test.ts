import { describe, expect, it } from 'vitest';
import type { Detection } from '../../models/runtime/index.ts';
import { armQueries } from './arms.ts';

const det = (cls: string, x: number, y: number, score = 0.9): Detection => ({
  classIndex: 0,
  cls,
  score,
  bbox: { x: x - 5, y: y - 5, w: 10, h: 10 },
});

describe('which hands the arm-link model is asked about', () => {
  const o = { minScore: 0.3, reachPx: 100, maxPairs: 12 };

  it('asks about a hand only with two heads or more within reach, nearest first', () => {
    const dets = [
      det('hand', 100, 100),
      det('head', 150, 100),
      det('head', 100, 130),
      det('head', 300, 100),
      det('hand', 400, 400),
      det('head', 420, 400),
    ];
    expect(armQueries(dets, o).map((q) => [q.hand, q.head])).toEqual([
      [0, 2],
      [0, 1],
    ]);
    expect(armQueries(dets, o)[0]!.pair).toEqual({ hand: [100, 100], head: [100, 130] });
  });

  it('skips weak hands and heads', () => {
    const dets = [det('hand', 100, 100, 0.2), det('head', 150, 100), det('head', 100, 130)];
    expect(armQueries(dets, o)).toEqual([]);
    const weakHead = [det('hand', 100, 100), det('head', 150, 100), det('head', 100, 130, 0.1)];
    expect(armQueries(weakHead, o)).toEqual([]);
  });

  it('caps a crowded frame, asking each hand about its two nearest heads before anyone about a third', () => {
    const dets = [
      det('hand', 100, 100),
      det('hand', 200, 100),
      det('hand', 300, 100),
      det('head', 110, 100),
      det('head', 190, 100),
      det('head', 150, 150),
      det('head', 290, 100),
    ];
    const q = armQueries(dets, { ...o, maxPairs: 5 });
    expect(q.map((x) => [x.hand, x.head])).toEqual([
      [0, 3],
      [0, 5],
      [1, 4],
      [1, 5],
      [0, 4],
    ]);
  });
});
