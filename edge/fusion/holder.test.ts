/**
 * Whose hand holds the item: which events are contested, where a holder look looks, what its
 * answer decides, and the fusion holding a contested take for it.
 */
import { describe, expect, it } from 'vitest';
import { cartLines, hand, putBack, T0, take, twoShoppers } from '../../test/support/two-shoppers.ts';
import type { LookAnswer, LookRequest } from '../types.ts';
import type { Attribution } from './attribute.ts';
import { FusionConfig } from './config.ts';
import { holderLookId } from './early-looks.ts';
import { contestedTracks, holderRequest, holderVerdict, ownTake, withHolder } from './holder.ts';
import type { FusionOutput } from './outputs.ts';

const config = FusionConfig.parse({});
const holder = { ...config.holder, waitMs: config.lookWaitMs };

const candidate = (trackId: string, score: number): Attribution['candidates'][number] => ({
  trackId,
  score,
  hands: score,
  points: 0,
  distanceM: 0.5,
  inReach: true,
});
const visits: Record<string, string> = { t1: 'v1', t2: 'v2', t3: 'v1', t4: 'v3' };
const visitOf = (id: string) => visits[id] ?? null;

/**
 * A holder look's answer for the take: per track, what its hand held as it came away (and, if
 * given, as it went in).
 */
const seen = (
  held: Record<string, [number, number]>,
  before: Record<string, [number, number]> = {},
): LookAnswer => {
  const e = take();
  const views = (what: Record<string, [number, number]>, captureMs: number) =>
    Object.entries(what).map(([trackId, [itemScore, candidateMass]], i) => ({
      cameraId: 'cam-1',
      frameIndex: captureMs - T0 + i,
      captureMs,
      trackId,
      itemScore,
      candidateMass,
    }));
  return {
    probabilities: { cola: 1 },
    candidateMass: 1,
    unknown: false,
    looked: [],
    views: [...views(held, e.settledMs - 300), ...views(before, e.startMs - 500)],
  };
};

describe('a contested event', () => {
  it('is one where another party’s best candidate scored a material share of the top party’s', () => {
    const contested = (...scores: [string, number][]) =>
      contestedTracks(
        { candidates: scores.map(([id, sc]) => candidate(id, sc)), confidence: 0.8, method: 'hand' },
        visitOf,
        holder,
      );
    expect(contested(['t1', 2], ['t2', 1])).toEqual(['t1', 't2']);
    // Only the party's own members near: which of them took it does not change the receipt.
    expect(contested(['t1', 2], ['t3', 1])).toBeNull();
    // The party's members count together against the rival.
    expect(contested(['t1', 20], ['t3', 20], ['t2', 1])).toBeNull();
    expect(contested(['t1', 20], ['t3', 10], ['t2', 1])).toEqual(['t1', 't2']);
    // The best of each other party near it, up to maxTracks in all.
    expect(contested(['t1', 2], ['t2', 1], ['t4', 1.5], ['t3', 1])).toEqual(['t1', 't4', 't2']);
    // A track on no visit is a party of its own.
    expect(contested(['t1', 2], ['t9', 1])).toEqual(['t1', 't9']);
  });

  it('not by a track that never came within an arm’s reach of the plates', () => {
    const away = { ...candidate('t2', 1), inReach: false };
    const who = (...c: Attribution['candidates']): Attribution => ({
      candidates: c,
      confidence: 0.8,
      method: 'hand',
    });
    expect(contestedTracks(who(candidate('t1', 2), away), visitOf, holder)).toBeNull();
    // Its party's member within reach is the party's best instead.
    const near = candidate('t5', 0.5);
    expect(
      contestedTracks(
        who(candidate('t1', 2), away, near),
        (id) => (id === 't5' ? 'v2' : visitOf(id)),
        holder,
      ),
    ).toEqual(['t1', 't5']);
  });
});

describe('where a holder look looks', () => {
  it('each contested track’s hand as it comes away from a take, best first, one view per frame', () => {
    const e = take();
    const sightings = [
      hand('t1', e.settledMs - 600, 1, 0.6),
      hand('t1', e.settledMs - 400, 2, 0.9),
      hand('t1', e.settledMs - 400, 2, 0.8), // the same frame again
      hand('t1', e.settledMs - 900, 3), // the item just off the plate: neither window
      hand('t1', e.startMs - 500, 7), // on its way in
      hand('t2', e.settledMs + 100, 4),
      hand('t2', e.settledMs + 400, 5), // not in yet when the event resolves
      hand('t3', e.settledMs, 6), // not contested
    ];
    const r = holderRequest(e, ['t1', 't2'], ['cola'], sightings, e.settledMs + 200, holder)!;
    expect(r.purpose).toBe('holder');
    expect(r.views.map((v) => [v.trackId, v.frameIndex])).toEqual([
      ['t1', 2],
      ['t1', 1],
      ['t1', 7],
      ['t2', 4],
    ]);
    expect(holderRequest(e, ['t1', 't2'], ['cola'], [hand('t3', e.settledMs, 6)], 0, holder)).toBeNull();
  });

  it('views spread over the window, not bunched where the hand was best seen', () => {
    const e = take();
    const at = (dt: number, frameIndex: number, score: number) =>
      hand('t1', e.settledMs + dt, frameIndex, score);
    const sightings = [
      at(-650, 1, 0.9),
      at(-600, 2, 0.95),
      at(-550, 3, 0.9),
      at(-100, 4, 0.5),
      at(100, 5, 0.4),
    ];
    const r = holderRequest(e, ['t1'], ['cola'], sightings, 0, { ...holder, viewsPerTrack: 3 })!;
    expect(r.views.map((v) => v.frameIndex)).toEqual([2, 5, 4]);
  });

  it('the hand that went to the plate, not the other one hanging at the side', () => {
    const e = take();
    // Sightings told apart by their bounding box's x: the hand's floor distance from the plate.
    const at = (dt: number, frameIndex: number, score: number, fromPlateM: number) => ({
      ...hand('t1', e.settledMs + dt, frameIndex, score),
      bboxPx: { x: fromPlateM, y: 0, w: 8, h: 8 },
    });
    const sightings = [
      at(-600, 1, 0.9, 0.7), // frame 1: the idle hand, better seen...
      at(-600, 1, 0.5, 0.1), // ...and the one carrying the item away
      at(-300, 2, 0.9, 0.8), // frame 2: only the idle hand
      at(-100, 3, 0.6, 0.3),
    ];
    const toPlate = (s: { bboxPx?: { x: number } }) => s.bboxPx!.x;
    const r = holderRequest(e, ['t1'], ['cola'], sightings, 0, holder, toPlate)!;
    expect(r.views.map((v) => [v.frameIndex, v.bboxPx.x])).toEqual([
      [3, 0.3],
      [1, 0.1],
    ]);
    // Without the plates' distances, the best-seen hand of each frame.
    const blind = holderRequest(e, ['t1'], ['cola'], sightings, 0, holder)!;
    expect(blind.views.map((v) => [v.frameIndex, v.bboxPx.x])).toEqual([
      [1, 0.7],
      [3, 0.3],
      [2, 0.8],
    ]);
    // No hand near the plate at all: the nearest of each frame still.
    const far = holderRequest(
      e,
      ['t1'],
      ['cola'],
      sightings.slice(0, 1).concat(sightings[2]!),
      0,
      holder,
      toPlate,
    )!;
    expect(far.views.map((v) => v.frameIndex).sort()).toEqual([1, 2]);
  });

  it('a put-back’s hands as they go in, before the shelf moved, and as they come away', () => {
    const e = { ...take(), deltaG: 352, plates: [{ plateId: 'S1-P1', deltaG: 352 }] };
    const r = holderRequest(
      e,
      ['t1', 't2'],
      ['cola'],
      [hand('t1', e.startMs - 500, 1), hand('t2', e.startMs + 300, 2)],
      0,
      holder,
    )!;
    expect(r.direction).toBe('put');
    expect(r.views.map((v) => v.frameIndex)).toEqual([1, 2]);
  });
});

describe('what a holder look decides', () => {
  it('the hand that came away clearly holding the product; nothing when both or neither did', () => {
    const verdict = (a: LookAnswer | null) => holderVerdict(a, take(), ['t1', 't2'], holder).trackId;
    expect(verdict(seen({ t1: [0.8, 0.9], t2: [0, 0] }))).toBe('t1');
    // The rival holds something else (its own product): still t1's.
    expect(verdict(seen({ t1: [0.8, 0.9], t2: [0.9, 0.05] }))).toBe('t1');
    // Two shoppers taking the same product at once.
    expect(verdict(seen({ t1: [0.8, 0.9], t2: [0.7, 0.9] }))).toBeNull();
    expect(verdict(seen({ t1: [0.2, 0.9], t2: [0, 0] }))).toBeNull();
    expect(verdict(null)).toBeNull();
  });

  it('not a hand that held the product before the take too (a bystander inspecting their own)', () => {
    const verdict = (a: LookAnswer) => holderVerdict(a, take(), ['t1', 't2'], holder);
    expect(verdict(seen({ t1: [0, 0], t2: [0.8, 0.9] }, { t2: [0.8, 0.9] })).trackId).toBeNull();
    const v = verdict(seen({ t1: [0.7, 0.9], t2: [0.8, 0.9] }, { t2: [0.8, 0.9] }));
    expect(v.trackId).toBe('t1');
    expect(v.evidence.t2).toBe(0);
  });

  it('not a hand that has just made a take of its own (it holds that)', () => {
    const a = seen({ t1: [0, 0], t2: [0.8, 0.9] });
    expect(holderVerdict(a, take(), ['t1', 't2'], holder).trackId).toBe('t2');
    expect(holderVerdict(a, take(), ['t1', 't2'], holder, new Set(['t2'])).trackId).toBeNull();
  });

  it('a take holds the hand it was given to only if that track scored highest, not just its party', () => {
    // t3 is on top as the best of v1's party (t1 + t3 outscore t2), but t2 scored higher itself.
    const byParty: Attribution = {
      candidates: [candidate('t3', 1.5), candidate('t1', 1.2), candidate('t2', 2)],
      confidence: 0.6,
      method: 'hand',
    };
    const byTrack: Attribution = { ...byParty, candidates: [candidate('t2', 2), candidate('t3', 1.5)] };
    expect(ownTake(byParty, holder)).toBe(false);
    expect(ownTake(byTrack, holder)).toBe(true);
    expect(ownTake(byParty, { ownTakeTopOnly: false })).toBe(true);
    expect(ownTake({ candidates: [], confidence: 0, method: 'none' }, holder)).toBe(false);
  });

  it('but a putter’s hand that took the item back seconds before still holds it going in', () => {
    const e = putBack();
    const views = [
      { trackId: 't1', itemScore: 0, candidateMass: 0, captureMs: e.startMs - 300 },
      { trackId: 't2', itemScore: 0.8, candidateMass: 0.9, captureMs: e.startMs - 300 },
      // A bystander still holding their own take holds it once the put-back let go, too.
      { trackId: 't1', itemScore: 0.8, candidateMass: 0.9, captureMs: e.startMs - 200 },
      { trackId: 't1', itemScore: 0.8, candidateMass: 0.9, captureMs: e.settledMs },
    ].map((v, i) => ({ ...v, cameraId: 'cam-1', frameIndex: i }));
    const a = { probabilities: { cola: 1 }, candidateMass: 1, unknown: false, looked: [], views };
    const v = holderVerdict(a, e, ['t1', 't2'], holder, new Set(['t1', 't2']));
    expect(v.trackId).toBe('t2');
    expect(v.evidence.t1).toBe(0);
  });

  it('puts the holder on top, its party holding the configured share', () => {
    const who: Attribution = {
      candidates: [candidate('t2', 5), candidate('t1', 1), candidate('t3', 0.5)],
      confidence: 0.83,
      method: 'hand',
    };
    const after = withHolder(who, 't1', visitOf, holder);
    expect(after.candidates.map((c) => c.trackId)).toEqual(['t1', 't2', 't3']);
    expect(after.candidates[0]!.score).toBeCloseTo(45);
    expect(withHolder(who, 't7', visitOf, holder)).toBe(who);
  });
});

describe('the fusion and a contested take', () => {
  /** The two shoppers' run, answering every look with `answerWith` ('none': never answered). */
  function run(answerWith: LookAnswer | 'none' | null): { out: FusionOutput[]; asked: number } {
    let asked = 0;
    const out = twoShoppers({
      config,
      onLook: (request) => {
        asked += 1;
        expect(request.purpose).toBe('holder');
        expect(new Set(request.views.map((v) => v.trackId))).toEqual(new Set(['t1', 't2']));
        return answerWith;
      },
    });
    return { out, asked };
  }
  const lines = cartLines;

  it('gives the take to the shopper whose hand came away holding it', () => {
    const { out, asked } = run(seen({ t1: [0.8, 0.95], t2: [0, 0] }));
    expect(asked).toBe(1);
    const [line] = lines(out);
    expect(line).toMatchObject({ visitId: 'v1', sku: 'cola', quantity: 1 });
    expect(line!.evidence.some((x) => x.startsWith('holder:t1:'))).toBe(true);
    expect(line!.confidence).toBeGreaterThanOrEqual(config.reviewBelow);
  });

  it('leaves it to the hands in the plate when the look cannot tell, or never answers', () => {
    for (const answer of [seen({ t1: [0.8, 0.95], t2: [0.8, 0.95] }), null, 'none' as const]) {
      const [line] = lines(run(answer).out);
      expect(line).toMatchObject({ visitId: 'v2', sku: 'cola', quantity: 1 });
      expect(line!.evidence.some((x) => x.startsWith('holder:'))).toBe(false);
    }
  });
});

describe('the fusion and a contested put-back', () => {
  it('asks the holder look while the put-back is held, when the frames are in, and decides with it once final', () => {
    const e = putBack();
    const finalMs = e.settledMs + 3500;
    const asked: LookRequest[] = [];
    const out = twoShoppers({
      config,
      putBackFinalMs: finalMs,
      onLook: (request) => {
        asked.push(request);
        // t1's hand went in holding the cola, t2's did not.
        const views = [
          { trackId: 't1', itemScore: 0.8, candidateMass: 0.95 },
          { trackId: 't2', itemScore: 0, candidateMass: 0 },
        ].map((v, i) => ({ ...v, cameraId: 'cam-1', frameIndex: i, captureMs: e.startMs - 300 }));
        return { probabilities: { cola: 1 }, candidateMass: 1, unknown: false, looked: [], views };
      },
    });
    // One look, the holder's, asked under its own id while the cameras still keep the frames.
    expect(asked.map((r) => [r.eventId, r.purpose])).toEqual([[holderLookId(e.eventId), 'holder']]);
    expect(asked[0]!.askedMs).toBeLessThan(e.settledMs + 1000);
    const [line] = cartLines(out);
    expect(line).toMatchObject({ visitId: 'v1', sku: 'cola', quantity: -1 });
    expect(line!.evidence.some((x) => x.startsWith('holder:t1:'))).toBe(true);
  });
});
