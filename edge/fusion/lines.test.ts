import { describe, expect, it } from 'vitest';
import type { WeightEvent, WeightHypothesis } from '../types.ts';
import type { Attribution, Candidate } from './attribute.ts';
import { FusionConfig } from './config.ts';
import { decidePlate, type PlateContext } from './lines.ts';

const config = FusionConfig.parse({});
const members: Record<string, { visitId: string; memberNo: number }> = {
  t1: { visitId: 'v1', memberNo: 1 },
  t2: { visitId: 'v2', memberNo: 1 },
};
const cand = (trackId: string, score: number, firstHandMs: number): Candidate => ({
  trackId,
  score,
  hands: 1,
  points: 0,
  distanceM: 0.4,
  inReach: true,
  firstHandMs,
});
const who = (confidence: number, ...candidates: Candidate[]): Attribution => ({
  candidates,
  confidence,
  method: 'hand',
});
const lines = [{ sku: 'nuts', plateId: 'P1', quantity: -2 }];
const reading: WeightHypothesis = { lines, probability: 0.9, logLikelihood: -1 };
const event = (steps?: WeightEvent['steps']): WeightEvent => ({
  eventId: 'S1@1000',
  shelfId: 'S1',
  plates: [{ plateId: 'P1', deltaG: -268 }],
  deltaG: -268,
  startMs: 1000,
  settledMs: 2000,
  positionM: [0, 0, 1],
  ...(steps ? { steps } : {}),
});
const context = (over: Partial<PlateContext>): PlateContext => ({
  event: event(),
  plateId: 'P1',
  who: who(0.95, cand('t1', 2, 1100)),
  lines,
  reading,
  looked: null,
  standingDoubt: null,
  memberOf: (id) => members[id] ?? null,
  unitG: (sku) => (sku === 'nuts' ? 134 : undefined),
  config,
  ...over,
});

describe('who pays for a plate’s lines', () => {
  it('charges the member whose hand was in the plate, as surely as both the hands and the weights', () => {
    const d = decidePlate(context({ who: who(0.6, cand('t1', 3, 1100), cand('t2', 1, 1300)) }));
    expect(d.paid).toBe(true);
    if (!d.paid) return;
    expect(d.shares).toEqual([{ member: members.t1, lines, evidence: ['weight:S1@1000'] }]);
    // Their visit's share of the hands' scores, times the weights' belief in the reading.
    expect(d.confidence).toBeCloseTo(0.75 * 0.9, 6);
    expect(d.review).toBe(false);
  });

  it('sends a line the weights still doubt to review, saying why, however sure the hand is', () => {
    const d = decidePlate(context({ standingDoubt: 'lookalike' }));
    expect(d.paid && d.review).toBe(true);
    expect(d.paid && d.shares[0]!.evidence).toEqual(['weight:S1@1000', 'doubt:lookalike']);
  });

  it('splits a plate two visits reached into, one share each, each line saying which reach it was', () => {
    const steps = [
      { plateId: 'P1', atMs: 1200, deltaG: -133 },
      { plateId: 'P1', atMs: 1600, deltaG: -135 },
    ];
    const d = decidePlate(
      context({ event: event(steps), who: who(0.5, cand('t1', 1.5, 1400), cand('t2', 1.2, 1100)) }),
    );
    expect(d.paid).toBe(true);
    if (!d.paid) return;
    expect(d.shares.map((s) => [s.member.visitId, s.lines[0]!.quantity, s.evidence])).toEqual([
      ['v2', -1, ['weight:S1@1000', 'reach:1/2']],
      ['v1', -1, ['weight:S1@1000', 'reach:2/2']],
    ]);
    expect(d.reaches?.map((r) => r.visitId)).toEqual(['v2', 'v1']);
  });

  it('splits it by the hands’ own shares when a holder look put one reacher far on top', () => {
    const steps = [
      { plateId: 'P1', atMs: 1200, deltaG: -133 },
      { plateId: 'P1', atMs: 1600, deltaG: -135 },
    ];
    const byHands = who(0.5, cand('t1', 1.5, 1400), cand('t2', 1.2, 1100));
    const held = who(0.9, cand('t1', 10.8, 1400), cand('t2', 1.2, 1100));
    const visits = (over: Partial<PlateContext>) => {
      const d = decidePlate(context({ event: event(steps), ...over }));
      return d.paid ? d.shares.map((s) => s.member.visitId) : [];
    };
    expect(visits({ who: held, reachWho: byHands })).toEqual(['v2', 'v1']);
    // Without the hands' own shares, the look's one hand would take both.
    expect(visits({ who: held })).toEqual(['v1']);
  });

  it('pays nobody when the hand was a track on no visit, and keeps what its member would owe', () => {
    const d = decidePlate(context({ who: who(0.8, cand('t7', 2, 1100)) }));
    expect(d.paid).toBe(false);
    if (d.paid) return;
    expect(d.top?.trackId).toBe('t7');
    expect(d.keep.confidence).toBeCloseTo(0.8 * 0.9, 6);
  });
});
