import { describe, expect, it } from 'vitest';
import type { Attribution, Candidate } from './attribute.ts';
import { splitByReach } from './reaches.ts';

const config = { unitTolerance: 0.1, minShare: 0.3 };
const unitG = (sku: string) => ({ nuts: 134, juice: 1075 })[sku];
const visits: Record<string, string | null> = { t1: 'v1', t2: 'v2', t3: 'v1', t9: null };
const visitOf = (id: string) => visits[id] ?? null;
const cand = (trackId: string, score: number, firstHandMs?: number, hands = 1): Candidate => ({
  trackId,
  score,
  hands,
  points: 0,
  distanceM: 0.5,
  inReach: true,
  ...(firstHandMs === undefined ? {} : { firstHandMs }),
});
const who = (...candidates: Candidate[]): Attribution => ({ candidates, confidence: 0.6, method: 'hand' });
const line = (quantity: number, sku = 'nuts') => [{ sku, plateId: 'P1', quantity }];
const steps = (...g: [number, number][]) => g.map(([atMs, deltaG]) => ({ atMs, deltaG }));

describe('one plate’s change in several reaches', () => {
  it('gives each reach to its own reacher when two visits’ hands were in the plate', () => {
    const split = splitByReach(
      steps([1000, -133], [1400, -136]),
      line(2),
      who(cand('t1', 1.6, 700), cand('t2', 1.0, 300)),
      unitG,
      visitOf,
      config,
    );
    expect(split?.shares).toEqual([
      { trackId: 't2', lines: [{ sku: 'nuts', plateId: 'P1', quantity: 1 }] },
      { trackId: 't1', lines: [{ sku: 'nuts', plateId: 'P1', quantity: 1 }] },
    ]);
    expect(split?.confidence).toBe(1);
  });

  it('gives the reaches in time order to the hands in the order they were first seen', () => {
    const split = splitByReach(
      steps([2000, -2150], [1000, -1075]),
      line(3, 'juice'),
      who(cand('t1', 2, 1500), cand('t2', 1.5, 600), cand('t9', 0.5)),
      unitG,
      visitOf,
      config,
    );
    expect(split?.shares.map((s) => [s.trackId, s.lines[0]!.quantity])).toEqual([
      ['t2', 1],
      ['t1', 2],
    ]);
    expect(split?.confidence).toBeCloseTo(3.5 / 4, 6);
  });

  it('keeps put-backs negative', () => {
    const split = splitByReach(
      steps([0, 134], [500, 135]),
      line(-2),
      who(cand('t1', 1, 0), cand('t2', 1, 100)),
      unitG,
      visitOf,
      config,
    );
    expect(split?.shares.map((s) => s.lines[0]!.quantity)).toEqual([-1, -1]);
  });

  it('leaves the event whole when the weights or the hands do not say two shoppers', () => {
    const two = who(cand('t1', 1.6, 700), cand('t2', 1.0, 300));
    const twoSteps = steps([1000, -133], [1400, -136]);
    // One reacher's party (t3 is t1's), a bystander with no hand in the plate, a stray ray.
    expect(
      splitByReach(twoSteps, line(2), who(cand('t1', 1.6, 0), cand('t3', 1.2, 0)), unitG, visitOf, config),
    ).toBeNull();
    expect(
      splitByReach(
        twoSteps,
        line(2),
        who(cand('t1', 1.6, 0), cand('t2', 1.0, undefined, 0)),
        unitG,
        visitOf,
        config,
      ),
    ).toBeNull();
    expect(
      splitByReach(twoSteps, line(2), who(cand('t1', 4, 0), cand('t2', 1.0, 0)), unitG, visitOf, config),
    ).toBeNull();
    // A track on no visit is nobody's reach to take.
    expect(
      splitByReach(twoSteps, line(2), who(cand('t1', 1.6, 0), cand('t9', 1.5, 0)), unitG, visitOf, config),
    ).toBeNull();
    // Steps that are no whole units, or do not add up to the line, or one step only.
    expect(splitByReach(steps([1000, -90], [1400, -178]), line(2), two, unitG, visitOf, config)).toBeNull();
    expect(splitByReach(twoSteps, line(3), two, unitG, visitOf, config)).toBeNull();
    expect(splitByReach(steps([1000, -269]), line(2), two, unitG, visitOf, config)).toBeNull();
    // Two products on the plate, or one unknown to the catalogue.
    expect(
      splitByReach(
        twoSteps,
        [...line(1), { sku: 'juice', plateId: 'P1', quantity: 1 }],
        two,
        unitG,
        visitOf,
        config,
      ),
    ).toBeNull();
    expect(splitByReach(twoSteps, line(2, 'tea'), two, unitG, visitOf, config)).toBeNull();
  });
});
