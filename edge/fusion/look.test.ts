import { describe, expect, it } from 'vitest';
import { testCatalog, testLayout } from '../../test/support/weight-trace.ts';
import type { IdentifyStage, WeightStage } from '../stages.ts';
import type { HandSighting, LookAnswer, WeightEvent } from '../types.ts';
import { holderAnswer, pool } from '../vision/second-look.ts';
import { defaultWeightConfig } from '../weight/config.ts';
import { ShelfContents } from '../weight/contents.ts';
import { doubt, identify } from '../weight/identify.ts';
import { lookCandidates } from '../weight/look.ts';
import { PlateGeometry } from './attribute.ts';
import { FusionConfig } from './config.ts';
import { Fusion } from './engine.ts';
import { lookRequest, withLook } from './look.ts';
import type { FusionOutput, ResolveTrace } from './outputs.ts';

// Weight twins (< 1 % apart) on neighbouring plates, as in the weight-twins scenario.
const catalog = testCatalog([
  { sku: 'cola', meanG: 352, sdG: 4.2 },
  { sku: 'lemon', meanG: 349, sdG: 4.2 },
  { sku: 'rice', meanG: 1012, sdG: 12 },
  { sku: 'apple', meanG: 205, sdG: 2.5, loose: true },
]);
const layout = testLayout(
  [{ id: 'S3', plates: 3 }],
  [
    { plateId: 'S3-P1', sku: 'apple', capacityUnits: 30 },
    { plateId: 'S3-P2', sku: 'cola', capacityUnits: 20 },
    { plateId: 'S3-P3', sku: 'rice', capacityUnits: 10 },
  ],
);
const config = FusionConfig.parse({});
const geometry = new PlateGeometry(layout);
const centre = geometry.plates.get('S3-P2')!.centerM;

function event(plateId: string, deltaG: number, startMs = 1000, settledMs = 2000): WeightEvent {
  return {
    eventId: `S3@${startMs}`,
    shelfId: 'S3',
    plates: [{ plateId, deltaG }],
    deltaG,
    startMs,
    settledMs,
    positionM: geometry.plates.get(plateId)!.centerM,
  };
}

/** A hand straight above a plate (a ceiling camera's ray through it), or over the aisle. */
function hand(
  captureMs: number,
  frameIndex: number,
  over: 'plate' | 'aisle',
  trackId: string | null = null,
): HandSighting {
  const x = over === 'plate' ? centre[0] : centre[0] + 3;
  return {
    cameraId: 'cam-1',
    captureMs,
    frameIndex,
    bboxPx: { x: 100, y: 100, w: 8, h: 8 },
    rayOriginM: [x, centre[1], 3],
    rayDirection: [0, 0, -1],
    trackId,
    score: 0.9,
  };
}

const answer = (probabilities: Record<string, number>, over: Partial<LookAnswer> = {}): LookAnswer => ({
  probabilities,
  candidateMass: 0.9,
  unknown: false,
  looked: [
    {
      cameraId: 'cam-1',
      frameIndex: 12,
      itemPx: { x: 0, y: 0, w: 6, h: 6 },
      itemScore: 0.8,
      sku: 'lemon',
      probability: 0.9,
    },
  ],
  ...over,
});

/** What the classifier said of an item: its class (null: rejected as unknown) and its best five. */
const cls = (sku: string | null, top: [string, number][]) => ({
  sku,
  classIndex: 0,
  probability: top[0]![1],
  similarity: 0.9,
  unknown: sku === null,
  top: top.map(([s, p]) => ({ sku: s, probability: p })),
  embedding: new Float32Array(1),
});

describe('which events get a second look', () => {
  const contents = () => new ShelfContents(layout, catalog);
  const candidates = (e: WeightEvent, carried: string[] = []) => {
    const c = contents();
    const hs = identify(e, c, catalog, defaultWeightConfig, { carriedSkus: carried });
    return lookCandidates(hs, doubt(hs, defaultWeightConfig), c, defaultWeightConfig);
  };

  it('a put-back whose weight has a twin among what is carried: the reading and its twin', () => {
    expect(candidates(event('S3-P2', 351), ['cola', 'lemon']).sort()).toEqual(['cola', 'lemon']);
  });

  it('a pick of the plate’s own product with no twin on or near it: none', () => {
    expect(candidates(event('S3-P3', -1010))).toEqual([]);
  });

  it('an item back on a plate that did not hold it: the carried product, to confirm', () => {
    expect(candidates(event('S3-P3', 351), ['cola'])).toEqual(['cola']);
  });

  it('loose produce (weighed, not named) and a change nothing explains: none', () => {
    expect(candidates(event('S3-P1', -400))).toEqual([]);
    expect(candidates(event('S3-P2', 60))).toEqual([]);
  });
});

describe('where a look looks', () => {
  it('the attributed hand in the plate’s volume, nearest the moment the item is in it, one view per frame', () => {
    const e = event('S3-P2', 351);
    const sightings = [
      hand(2000, 20, 'plate', 't1'),
      hand(900, 9, 'plate', 't1'),
      hand(900, 9, 'plate', 't1'),
      hand(1000, 10, 'aisle', 't1'),
      hand(1000, 10, 'plate', 't2'),
    ];
    const r = lookRequest(e, ['cola', 'lemon'], 't1', sightings, geometry, 2500, config)!;
    // A put-back: the item is in the hand before the shelf moves (startMs 1000).
    expect(r.views.map((v) => v.frameIndex)).toEqual([9, 20, 10]);
    expect(r).toMatchObject({
      direction: 'put',
      candidates: ['cola', 'lemon'],
      deadlineMs: 2500 + config.lookWaitMs,
    });
    // Nobody attributed: only hands seen in the plate's volume are views of the item, anyone's.
    expect(
      lookRequest(e, ['cola'], null, sightings, geometry, 2500, config)!.views.map((v) => v.frameIndex),
    ).toEqual([10, 9, 20]);
    expect(lookRequest(e, ['cola'], null, [hand(1000, 10, 'aisle')], geometry, 2500, config)).toBeNull();
  });
});

describe('what a look does to the reading', () => {
  const hypotheses = [
    { lines: [{ sku: 'cola', plateId: 'S3-P2', quantity: -1 }], probability: 0.9, logLikelihood: 0 },
    { lines: [{ sku: 'lemon', plateId: 'S3-P2', quantity: -1 }], probability: 0.1, logLikelihood: -2 },
  ];
  const cands = ['cola', 'lemon'];

  it('the look decides between twins: the weights only say it is one of them', () => {
    const r = withLook(hypotheses, cands, answer({ cola: 0.1, lemon: 0.9 }), config);
    expect(r.outcome).toBe('changed');
    expect(r.reading.lines[0]!.sku).toBe('lemon');
    expect(r.probability).toBeCloseTo(0.9, 6);
    expect(withLook(hypotheses, cands, answer({ cola: 0.8, lemon: 0.2 }), config)).toMatchObject({
      outcome: 'confirmed',
      probability: 0.8,
    });
  });

  it('an unknown item is flagged, never guessed, unless the weights vouch for a take; another product seen decides and flags nothing', () => {
    const unknown = withLook(hypotheses, cands, answer({ cola: 0.5, lemon: 0.5 }, { unknown: true }), config);
    expect(unknown).toMatchObject({ outcome: 'unknown', cap: config.lookFlagConfidence });
    expect(unknown.reading.lines[0]!.sku).toBe('cola');
    // A take the weights vouch for: the classifier's rejection is a poor crop, not a foreign item.
    const vouched = withLook(
      hypotheses,
      cands,
      answer({ cola: 0.5, lemon: 0.5 }, { unknown: true }),
      config,
      true,
    );
    expect(vouched).toMatchObject({ outcome: 'other', cap: 1, probability: 0.9 });
    expect(vouched.evidence).toMatch(/^look:unknown:/);
    const other = withLook(
      hypotheses,
      cands,
      answer({ cola: 0.9, lemon: 0.1 }, { candidateMass: 0.05 }),
      config,
    );
    expect(other).toMatchObject({ outcome: 'other', cap: 1, probability: 0.9 });
  });

  it('a look torn between the twins decides nothing: the weights’ reading stands as it was', () => {
    expect(withLook(hypotheses, cands, answer({ cola: 0.45, lemon: 0.55 }), config)).toMatchObject({
      outcome: 'undecided',
      probability: 0.9,
      cap: 1,
    });
  });

  it('no answer: the weights alone', () => {
    expect(withLook(hypotheses, cands, null, config)).toMatchObject({
      outcome: 'none',
      probability: 0.9,
      cap: 1,
    });
  });

  it('pools views by item score: probabilities over the candidates, rejection by the majority', () => {
    const view = { cameraId: 'c', frameIndex: 1, captureMs: 0, bboxPx: { x: 0, y: 0, w: 1, h: 1 } };
    const item = (score: number) => ({ bbox: { x: 0, y: 0, w: 5, h: 5 }, score });
    const a = pool(
      [
        {
          view,
          item: item(0.9),
          cls: cls('lemon', [
            ['lemon', 0.8],
            ['cola', 0.1],
            ['rice', 0.1],
          ]),
        },
        {
          view,
          item: item(0.3),
          cls: cls('cola', [
            ['cola', 0.9],
            ['lemon', 0.1],
          ]),
        },
      ],
      ['cola', 'lemon'],
    )!;
    expect(a.probabilities.lemon).toBeCloseTo((0.9 * 0.8 + 0.3 * 0.1) / (0.9 * 0.9 + 0.3 * 1), 6);
    expect(a.candidateMass).toBeCloseTo((0.9 * 0.9 + 0.3 * 1) / 1.2, 6);
    expect(a.unknown).toBe(false);
    const b = pool(
      [
        { view, item: item(0.9), cls: cls(null, [['cola', 0.3]]) },
        { view, item: item(0.3), cls: cls('cola', [['cola', 1]]) },
      ],
      ['cola'],
    )!;
    expect(b.unknown).toBe(true);
    expect(pool([], ['cola'])).toBeNull();
  });

  it('a holder look’s answer gives every view read, an empty hand too, with its item’s share on the candidates', () => {
    const view = (trackId: string, frameIndex: number) => ({
      cameraId: 'cam-1',
      frameIndex,
      captureMs: 0,
      bboxPx: { x: 0, y: 0, w: 8, h: 8 },
      trackId,
    });
    const found = (v: ReturnType<typeof view>, score: number, c: ReturnType<typeof cls>) => ({
      view: v,
      found: { view: v, item: { bbox: { x: 0, y: 0, w: 5, h: 5 }, score }, cls: c },
    });
    const a = holderAnswer(
      [
        found(
          view('t1', 1),
          0.8,
          cls('cola', [
            ['cola', 0.7],
            ['lemon', 0.2],
          ]),
        ),
        { view: view('t2', 2), found: null },
        found(view('t2', 3), 0.6, cls(null, [['cola', 0.9]])),
      ],
      ['cola', 'lemon'],
    )!;
    expect(a.views!.map((v) => [v.trackId, v.itemScore, Number(v.candidateMass.toFixed(6))])).toEqual([
      ['t1', 0.8, 0.9],
      ['t2', 0, 0],
      ['t2', 0.6, 0], // an item the classifier rejects is not the product
    ]);
    expect(a.looked).toHaveLength(2);
    expect(holderAnswer([{ view: view('t1', 1), found: null }], ['cola'])!.looked).toEqual([]);
    expect(holderAnswer([], ['cola'])).toBeNull();
  });
});

describe('the fusion holds an event for its look', () => {
  /** The fusion over one scripted put-back of 351 g on cola's plate, with a hand seen over it. */
  function setup() {
    const contents = new ShelfContents(layout, catalog);
    let pending: WeightEvent[] = [event('S3-P2', 351)];
    const weights: WeightStage = {
      push() {},
      advance(nowMs) {
        const events = pending.filter((e) => e.settledMs <= nowMs);
        pending = pending.filter((e) => e.settledMs > nowMs);
        return { events, health: [], faultChanges: [] };
      },
      activeSince: () => new Map(),
      held: () => [],
      confirm() {},
      state: () => null,
      restore() {},
    };
    const identifyStage: IdentifyStage = (e, carried) => {
      const hs = identify(e, contents, catalog, defaultWeightConfig, { carriedSkus: carried });
      const why = doubt(hs, defaultWeightConfig);
      return { hypotheses: hs, doubt: why, lookFor: lookCandidates(hs, why, contents, defaultWeightConfig) };
    };
    const traces: ResolveTrace[] = [];
    const fusion = new Fusion(
      layout,
      catalog,
      {
        weights,
        identify: identifyStage,
        contents,
        tracker: {
          update: () => ({ tracks: [], personTrack: [] }),
          end() {},
          state: () => null,
          restore() {},
        },
        hands: (frame) => [hand(frame.captureMs, frame.frameIndex, 'plate')],
        looks: true,
      },
      config,
      (t) => traces.push(t),
    );
    for (const [i, ms] of [900, 1500, 2300].entries())
      fusion.onDetections({ cameraId: 'cam-1', frameIndex: i, captureMs: ms, detections: [] });
    const outputs = fusion.tick(2300);
    return { fusion, traces, outputs, contents };
  }
  // Plate stock statements come with any tick (edge/fusion/plate-stock.ts): not what these are about.
  const kinds = (os: FusionOutput[]) =>
    os.filter((o) => o.kind !== 'plates').map((o) => (o.kind === 'alert' ? `alert:${o.alert.kind}` : o.kind));

  it('asks, holds until the answer, then resolves with the look’s product', () => {
    const { fusion, traces, outputs, contents } = setup();
    expect(kinds(outputs)).toEqual(['look']);
    const look = outputs[0] as Extract<FusionOutput, { kind: 'look' }>;
    expect(look.request.candidates.sort()).toEqual(['cola', 'lemon']);
    expect(look.request.views[0]!.frameIndex).toBe(0); // nearest the put-back's start
    expect(fusion.tick(2300 + config.lookWaitMs - 1)).toEqual([]);
    expect(traces).toEqual([]);
    fusion.onLook(look.request.eventId, answer({ cola: 0.05, lemon: 0.95 }));
    expect(traces[0]!.lines).toEqual([{ sku: 'lemon', plateId: 'S3-P2', quantity: -1 }]);
    expect(traces[0]!.look?.outcome).toBe('changed');
    expect(contents.units('S3-P2').lemon).toBe(1);
    // Its answer is spent: a second one changes nothing.
    expect(fusion.onLook(look.request.eventId, answer({ cola: 1, lemon: 0 }))).toEqual([]);
  });

  it('resolves on the weights alone once the wait is over, and ignores a late answer', () => {
    const { fusion, traces, outputs } = setup();
    const { request } = outputs[0] as Extract<FusionOutput, { kind: 'look' }>;
    fusion.tick(request.deadlineMs);
    expect(traces[0]!.lines[0]!.sku).toBe('cola');
    expect(traces[0]!.look?.outcome).toBe('none');
    expect(fusion.onLook(request.eventId, answer({ lemon: 1 }))).toEqual([]);
    expect(traces).toHaveLength(1);
  });

  it('an item the classifier rejects is flagged for review with an alert, its weight reading kept', () => {
    const { fusion, traces, outputs } = setup();
    const { request } = outputs[0] as Extract<FusionOutput, { kind: 'look' }>;
    const out = fusion.onLook(request.eventId, answer({ cola: 0.5, lemon: 0.5 }, { unknown: true }));
    expect(kinds(out)).toContain('alert:unknown-item');
    expect(traces[0]!.lines[0]!.sku).toBe('cola');
    expect(traces[0]!.review).toBe(true);
  });
});
