import { describe, expect, it } from 'vitest';
import { loadLayout } from '../../proto/layout/check.ts';
import { type CameraModel, cameraModel, project } from '../../proto/layout/projection.ts';
import type { Vec3 } from '../../proto/layout/schema.ts';
import type { FrameDetections } from '../types.ts';
import {
  armOwner,
  DEFAULT_HAND_OPTIONS,
  handOwner,
  handPoints,
  handSightings,
  ownerByReach,
  triangulate,
} from './hands.ts';

const layout = loadLayout(new URL('../../proto/stores/reference/layout.json', import.meta.url).pathname);
const camera = (id: string) => cameraModel(layout.cameras.find((c) => c.id === id)!);
const cam11 = camera('cam-11');
const cam12 = camera('cam-12');

// Between cam-11 (1.5, 2.4) and cam-12 (4.5, 2.4), at shelf height.
const HAND_M: Vec3 = [3, 2.2, 1.1];

/** A frame with one person box around the hand and a 10 px hand box centred on its projection. */
function frameWith(cam: CameraModel, handM: Vec3, tMs = 1000): FrameDetections {
  const p = project(cam, handM)!;
  return {
    cameraId: cam.id,
    frameIndex: 1,
    captureMs: tMs,
    detections: [
      { classIndex: 0, cls: 'person', score: 0.9, bbox: { x: p.u - 40, y: p.v - 60, w: 80, h: 100 } },
      { classIndex: 2, cls: 'hand', score: 0.8, bbox: { x: p.u - 5, y: p.v - 5, w: 10, h: 10 } },
    ],
  };
}

describe('hand sightings', () => {
  it('gives a hand with no person box to the track within reach of its ray, and to nobody on a near tie', () => {
    const lone = frameWith(cam11, HAND_M);
    lone.detections = lone.detections.filter((d) => d.cls === 'hand');
    // The hand at (3, 2.2, 1.1) seen from cam-11: one shopper 0.5 m in front of it, one 2 m away.
    const at = (trackId: string, x: number, y: number) => ({
      trackId,
      floorXyM: [x, y] as [number, number],
      state: 'confirmed' as const,
    });
    const [s] = handSightings(lone, cam11, [], [at('t1', 3, 1.7), at('t2', 3, 4.2)]);
    expect(s!.trackId).toBe('t1');
    // Nobody within reach.
    expect(handSightings(lone, cam11, [], [at('t2', 3, 4.2)])[0]!.trackId).toBeNull();
    // Two shoppers as near, either side of the ray: not a coin flip.
    expect(handSightings(lone, cam11, [], [at('t1', 3, 1.7), at('t3', 3, 2.7)])[0]!.trackId).toBeNull();
    // A lost track is not a body the arm could belong to.
    expect(ownerByReach(s!, [{ ...at('t1', 3, 1.7), state: 'lost' }], DEFAULT_HAND_OPTIONS)).toBeNull();
    // A person box's track wins over reach.
    const boxed = handSightings(frameWith(cam11, HAND_M), cam11, ['t9', null], [at('t1', 3, 1.7)]);
    expect(boxed[0]!.trackId).toBe('t9');
  });

  it('looks for a crouching track along the stretch of the ray from the floor to its head', () => {
    // A hand at a bottom shelf (15 cm high), seen from cam-11, and a shopper crouched beyond it,
    // reported where they crouch: the ray at standing arm heights (0.5-1.7 m) passes 0.75 m from
    // them, the ray below 1.1 m within 0.45 m.
    const low = frameWith(cam11, [3.6, 2.2, 0.15]);
    low.detections = low.detections.filter((d) => d.cls === 'hand');
    const body = (crouching: boolean) => ({
      trackId: 't1',
      floorXyM: [4.1, 2.2] as [number, number],
      state: 'confirmed' as const,
      ...(crouching ? { crouching } : {}),
    });
    expect(handSightings(low, cam11, [], [body(true)])[0]!.trackId).toBe('t1');
    expect(handSightings(low, cam11, [], [body(false)])[0]!.trackId).toBeNull();
  });

  it('gives a box-linked hand to a track standing clearly nearer its ray, with nearerByM set', () => {
    const at = (trackId: string, x: number, y: number) => ({
      trackId,
      floorXyM: [x, y] as [number, number],
      state: 'confirmed' as const,
    });
    // The box's track t9 stands 1.5 m from the hand's ray; t1 stands 0.5 m from it.
    const tracks = [at('t9', 3, 0.7), at('t1', 3, 1.7)];
    const options = { ...DEFAULT_HAND_OPTIONS, nearerByM: 0.3 };
    const link = (standing: typeof tracks, o = options) => {
      const [s] = handSightings(frameWith(cam11, HAND_M), cam11, ['t9', null], standing, o);
      return [s!.trackId, s!.linkedBy];
    };
    expect(link(tracks)).toEqual(['t1', 'nearer']);
    // Not clearly nearer: the box decides.
    expect(link([at('t9', 3, 1.55), at('t1', 3, 1.7)])).toEqual(['t9', 'box']);
    // Off (0): the box decides whatever the distances.
    expect(link(tracks, { ...options, nearerByM: 0 })).toEqual(['t9', 'box']);
  });

  it('links a hand to its person box, hence its track, with a ray that passes through the hand', () => {
    const [s] = handSightings(frameWith(cam11, HAND_M), cam11, ['t7', null]);
    expect(s!.trackId).toBe('t7');
    expect(s!.rayOriginM).toEqual([1.5, 2.4, 3]);
    const d = Math.hypot(HAND_M[0] - 1.5, HAND_M[1] - 2.4, HAND_M[2] - 3);
    const at = s!.rayOriginM.map((o, i) => o + d * s!.rayDirection[i]!);
    for (const [i, v] of at.entries()) expect(v).toBeCloseTo(HAND_M[i]!, 3);
  });

  it('gives a hand inside two overlapping person boxes to the one whose middle is nearer; outside, the nearest within the limit', () => {
    const person = (x: number) => ({
      classIndex: 0,
      cls: 'person',
      score: 0.9,
      bbox: { x, y: 100, w: 100, h: 100 },
    });
    const dets = [person(100), person(160)];
    // Centre (185, 145): 35 px from box 0's middle (150, 150), 25 px from box 1's (210, 150).
    expect(handOwner(dets, { x: 180, y: 140, w: 10, h: 10 }, 12)).toBe(1);
    // Centre (155, 95): inside neither, 5 px above both; box 0 is as near, and first.
    expect(handOwner(dets, { x: 150, y: 90, w: 10, h: 10 }, 12)).toBe(0);
    // Centre (155, 75): 25 px above, beyond the 12 px limit.
    expect(handOwner(dets, { x: 150, y: 70, w: 10, h: 10 }, 12)).toBe(-1);
    const [s] = handSightings(
      {
        cameraId: 'cam-11',
        frameIndex: 1,
        captureMs: 0,
        detections: [
          ...dets,
          { classIndex: 2, cls: 'hand', score: 0.9, bbox: { x: 150, y: 70, w: 10, h: 10 } },
        ],
      },
      cam11,
      ['t1', 't2', null],
    );
    expect(s!.trackId).toBeNull();
  });
});

describe('the arm-link model joining a hand to a head', () => {
  const o = { armAccept: 0.7, armReject: 0.3 };
  // Detections 0 and 1 are hands; 2, 3 and 4 heads of tracks a and b and of no track.
  const personTrack = [null, null, 'a', 'b', null];

  it("gives the hand to the one head's track it clearly joins, over every box", () => {
    const links = [
      { hand: 0, head: 2, probability: 0.1 },
      { hand: 0, head: 3, probability: 0.9 },
      { hand: 1, head: 2, probability: 0.95 },
      { hand: 1, head: 4, probability: 0.2 },
    ];
    expect(armOwner(0, links, personTrack, o)).toBe('b');
    expect(armOwner(1, links, personTrack, o)).toBe('a');
  });

  // Each case: hand 0's heads asked about, as [head, probability].
  it.each([
    [
      'a rival between the bounds',
      [
        [2, 0.4],
        [3, 0.9],
      ],
    ],
    [
      'two heads accepted',
      [
        [2, 0.8],
        [3, 0.9],
      ],
    ],
    [
      'an untracked head nearly as likely',
      [
        [3, 0.9],
        [4, 0.8],
      ],
    ],
    [
      'an untracked head likelier',
      [
        [3, 0.1],
        [4, 0.95],
      ],
    ],
    ['no rival asked about, however likely the one head', [[3, 0.95]]],
  ] as [string, [number, number][]][])('decides nothing on a doubt: %s', (_, asked) => {
    const links = asked.map(([head, probability]) => ({ hand: 0, head, probability }));
    expect(armOwner(0, links, personTrack, o)).toBeNull();
  });

  it('links the hand sighting by the arm, over the box that holds it', () => {
    const f = frameWith(cam11, HAND_M);
    f.detections.push({ classIndex: 1, cls: 'head', score: 0.9, bbox: { x: 0, y: 0, w: 8, h: 8 } });
    f.detections.push({ classIndex: 1, cls: 'head', score: 0.9, bbox: { x: 20, y: 0, w: 8, h: 8 } });
    f.armLinks = [
      { hand: 1, head: 2, probability: 0.05 },
      { hand: 1, head: 3, probability: 0.92 },
    ];
    const tracks = ['box', null, 'box', 'neighbour'];
    const [s] = handSightings(f, cam11, tracks, [], { ...DEFAULT_HAND_OPTIONS, nearerByM: 0 });
    expect([s!.trackId, s!.linkedBy]).toEqual(['neighbour', 'arm']);
    const off = handSightings(f, cam11, tracks, [], { ...DEFAULT_HAND_OPTIONS, nearerByM: 0, armAccept: 2 });
    expect([off[0]!.trackId, off[0]!.linkedBy]).toEqual(['box', 'box']);
  });
});

describe('hand triangulation', () => {
  it('finds the hand where the rays of two cameras meet', () => {
    const [a] = handSightings(frameWith(cam11, HAND_M), cam11, ['t3', null]);
    const [b] = handSightings(frameWith(cam12, HAND_M, 1040), cam12, ['t3', null]);
    const r = triangulate(a!, b!)!;
    for (const [i, v] of r.pointM.entries()) expect(v).toBeCloseTo(HAND_M[i]!, 2);
    expect(r.gapM).toBeLessThan(0.01);
    const points = handPoints([a!, b!], { maxDtMs: 100, maxGapM: 0.1 });
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({ trackId: 't3', tMs: 1020, cameraIds: ['cam-11', 'cam-12'] });
  });

  it('pairs a linked sighting with an unlinked one, keeping the link; two unlinked make a point of no one', () => {
    const [a] = handSightings(frameWith(cam11, HAND_M), cam11, ['t3', null]);
    const [b] = handSightings(frameWith(cam12, HAND_M, 1040), cam12, [null, null]);
    expect(b!.trackId).toBeNull();
    const opts = { maxDtMs: 100, maxGapM: 0.1 };
    expect(handPoints([a!, b!], opts)).toMatchObject([{ trackId: 't3', from: [a, b] }]);
    expect(handPoints([{ ...a!, trackId: null }, b!], opts)).toMatchObject([{ trackId: null }]);
  });

  it('pairs only sightings not linked to two different tracks, from two cameras, close in time, with rays that nearly meet', () => {
    const [a] = handSightings(frameWith(cam11, HAND_M), cam11, ['t3', null]);
    const [b] = handSightings(frameWith(cam12, HAND_M, 1040), cam12, ['t3', null]);
    const [other] = handSightings(frameWith(cam12, HAND_M, 1040), cam12, ['t4', null]);
    const [late] = handSightings(frameWith(cam12, HAND_M, 1500), cam12, ['t3', null]);
    const [elsewhere] = handSightings(frameWith(cam12, [3.6, 1.5, 1.2], 1040), cam12, ['t3', null]);
    const opts = { maxDtMs: 100, maxGapM: 0.1 };
    expect(handPoints([a!, other!], opts)).toEqual([]);
    expect(handPoints([a!, late!], opts)).toEqual([]);
    expect(handPoints([a!, elsewhere!], opts)).toEqual([]);
    expect(handPoints([a!, { ...b!, cameraId: 'cam-11' }], opts)).toEqual([]);
  });
});
