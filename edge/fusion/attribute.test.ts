import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type CameraModel, cameraModel, project } from '../../proto/layout/projection.ts';
import { StoreLayout, type Vec2, type Vec3 } from '../../proto/layout/schema.ts';
import type { HandSighting, WeightEvent } from '../types.ts';
import { attribute, PlateGeometry, partyConfidence, partyFirst } from './attribute.ts';
import { AttributionConfig } from './config.ts';

const layout = StoreLayout.parse(
  JSON.parse(readFileSync(new URL('../../proto/stores/reference/layout.json', import.meta.url), 'utf8')),
);
const geometry = new PlateGeometry(layout);
const config = AttributionConfig.parse({});
const PLATE = 'G1W2-P1';
const plate = layout.plates.find((p) => p.id === PLATE)!;
const [frontA, frontB] = geometry.front(PLATE)!;
/** The middle of the plate's front edge. */
const front: Vec2 = [(frontA[0] + frontB[0]) / 2, (frontA[1] + frontB[1]) / 2];
const cameras = layout.cameras.map((c) => c.positionM as Vec3);

const event: WeightEvent = {
  eventId: `${plate.shelfId}@10000`,
  shelfId: plate.shelfId,
  plates: [{ plateId: PLATE, deltaG: -250 }],
  deltaG: -250,
  startMs: 10_000,
  settledMs: 11_000,
  positionM: plate.centerM as Vec3,
};

/** A hand at `pointM` as camera `cam` sees it: the ray from the camera through the point. */
function seen(trackId: string, pointM: Vec3, captureMs: number, cam = 0): HandSighting {
  const o = cameras[cam]!;
  const d: Vec3 = [pointM[0] - o[0], pointM[1] - o[1], pointM[2] - o[2]];
  const n = Math.hypot(...d);
  return {
    cameraId: `c${cam}`,
    captureMs,
    rayOriginM: o,
    rayDirection: [d[0] / n, d[1] / n, d[2] / n],
    trackId,
    score: 0.9,
  };
}

function unit(to: Vec3, from: Vec3): Vec3 {
  const d: Vec3 = [to[0] - from[0], to[1] - from[1], to[2] - from[2]];
  const n = Math.hypot(...d);
  return [d[0] / n, d[1] / n, d[2] / n];
}

/** Standing `m` metres out from the plate's front (away from the shelf). */
function outFromFront(m: number, alongM = 0): Vec2 {
  const facing = layout.shelves.find((s) => s.id === plate.shelfId)!.facing;
  const dir: Vec2 = facing === '-x' ? [-1, 0] : facing === '+x' ? [1, 0] : facing === '-y' ? [0, -1] : [0, 1];
  return [front[0] + dir[0] * m + dir[1] * alongM, front[1] + dir[1] * m + dir[0] * alongM];
}

// A hand just inside the plate's front edge: deeper in, the shelf above hides it from the ceiling.
const inPlate: Vec3 = [...outFromFront(-0.08), plate.centerM[2] + 0.12];

describe('attribute', () => {
  it('gives the event to the hand in the plate volume over a track standing nearer', () => {
    const where = new Map<string, Vec2[]>([
      ['reacher', [outFromFront(0.7)]],
      ['bystander', [outFromFront(0.2, 0.3)]],
    ]);
    const sightings = [10_050, 10_250, 10_450].map((t) => seen('reacher', inPlate, t));
    const who = attribute(event, geometry, sightings, [...where.keys()], (id) => where.get(id) ?? [], config);
    expect(who.method).toBe('hand');
    expect(who.candidates[0]?.trackId).toBe('reacher');
    expect(who.confidence).toBeGreaterThan(0.6);
  });

  it('keeps both candidates and a low confidence when two stand equally near and no hand is seen', () => {
    const where = new Map<string, Vec2[]>([
      ['a', [outFromFront(0.4, 0.2)]],
      ['b', [outFromFront(0.4, -0.2)]],
    ]);
    const who = attribute(event, geometry, [], [...where.keys()], (id) => where.get(id) ?? [], config);
    expect(who.method).toBe('nearest');
    expect(who.candidates.map((c) => c.trackId).sort()).toEqual(['a', 'b']);
    expect(who.confidence).toBeLessThan(0.6);
  });

  it('ignores hands seen long before the shelf became active', () => {
    const where = new Map<string, Vec2[]>([
      ['early', [outFromFront(0.5)]],
      ['now', [outFromFront(0.3)]],
    ]);
    const sightings = [seen('early', inPlate, event.startMs - config.handBeforeMs - 500)];
    const who = attribute(event, geometry, sightings, [...where.keys()], (id) => where.get(id) ?? [], config);
    expect(who.candidates[0]?.trackId).toBe('now');
    expect(who.candidates.find((c) => c.trackId === 'early')?.hands).toBe(0);
  });

  it('returns nobody when every track is far from the shelf and no hand reached it', () => {
    const where = new Map<string, Vec2[]>([['far', [outFromFront(config.nearestMaxM + 1)]]]);
    const who = attribute(event, geometry, [], ['far'], (id) => where.get(id) ?? [], config);
    expect(who.method).toBe('none');
    expect(who.candidates).toEqual([]);
  });

  it('counts no hand for a track standing beyond an arm’s reach of the plates', () => {
    const where = new Map<string, Vec2[]>([
      ['far', [outFromFront(config.handReachM + 0.4)]],
      ['near', [outFromFront(0.4)]],
    ]);
    // A hand linked to the far track, whose ray passes through the plate's volume.
    const sightings = [10_050, 10_250, 10_450].map((t) => seen('far', inPlate, t));
    const positions = (id: string) => where.get(id) ?? [];
    const who = attribute(event, geometry, sightings, [...where.keys()], positions, config);
    expect(who.candidates[0]?.trackId).toBe('near');
    expect(who.candidates.find((c) => c.trackId === 'far')?.hands).toBe(0);
    const anyReach = { ...config, handReachM: 1e9 };
    expect(
      attribute(event, geometry, sightings, [...where.keys()], positions, anyReach).candidates[0]?.trackId,
    ).toBe('far');
  });

  it('keeps as a candidate a shopper standing off the end of a long plate, within reach of its edge', () => {
    const halfM = plate.sizeM[0] / 2;
    // 1.9 m from the end of the plate's front edge, more than nearestMaxM from its middle.
    const at = outFromFront(0.3, halfM + 1.85);
    expect(Math.hypot(at[0] - front[0], at[1] - front[1])).toBeGreaterThan(config.nearestMaxM);
    const who = attribute(event, geometry, [], ['end'], () => [at], config);
    expect(who.candidates.map((c) => c.trackId)).toEqual(['end']);
    expect(who.method).toBe('nearest');
  });

  it('a hand two cameras place in the plate beats rays of a hand that only passes over it', () => {
    const where = new Map<string, Vec2[]>([
      ['reacher', [outFromFront(0.6, -0.2)]],
      ['leaner', [outFromFront(0.5, 0.2)]],
    ]);
    // The leaner's hand hangs above the aisle, in line with the plate from camera 0 only.
    const cam = cameras[0]!;
    const along = (t: number): Vec3 => [
      cam[0] + (inPlate[0] - cam[0]) * t,
      cam[1] + (inPlate[1] - cam[1]) * t,
      cam[2] + (inPlate[2] - cam[2]) * t,
    ];
    const sightings: HandSighting[] = [];
    for (const t of [10_100, 10_300, 10_500]) {
      sightings.push(seen('reacher', inPlate, t, 0), seen('reacher', inPlate, t + 10, 1));
      sightings.push(seen('leaner', along(0.6), t, 0), seen('leaner', along(0.6), t + 10, 0));
    }
    const who = attribute(event, geometry, sightings, [...where.keys()], (id) => where.get(id) ?? [], config);
    const reacher = who.candidates.find((c) => c.trackId === 'reacher')!;
    expect(who.candidates[0]?.trackId).toBe('reacher');
    expect(reacher.points).toBe(3);
    expect(who.candidates.find((c) => c.trackId === 'leaner')!.points).toBe(0);
  });

  it('gives a point no sighting linked to the track standing within reach, and to nobody on a near tie', () => {
    const sightings = [10_100, 10_300].flatMap((t) => [
      { ...seen('x', inPlate, t, 0), trackId: null },
      { ...seen('x', inPlate, t + 10, 1), trackId: null },
    ]);
    const alone = new Map<string, Vec2[]>([
      ['reacher', [outFromFront(0.5)]],
      ['passer', [outFromFront(1.6)]],
    ]);
    const who = attribute(event, geometry, sightings, [...alone.keys()], (id) => alone.get(id) ?? [], config);
    expect(who.candidates[0]).toMatchObject({ trackId: 'reacher', points: 2, hands: 0 });
    expect(who.method).toBe('hand');
    const tie = new Map<string, Vec2[]>([
      ['a', [outFromFront(0.5, 0.1)]],
      ['b', [outFromFront(0.5, -0.1)]],
    ]);
    const torn = attribute(event, geometry, sightings, [...tie.keys()], (id) => tie.get(id) ?? [], config);
    expect(torn.candidates.every((c) => c.points === 0)).toBe(true);
  });

  it('a ray over the plate counts nothing when two cameras place its hand well outside it', () => {
    const where = new Map<string, Vec2[]>([['bystander', [outFromFront(0.4)]]]);
    const cam = cameras[0]!;
    // On camera 0's ray through the plate, `t` of the way from the camera.
    const onRay = (t: number): Vec3 => [
      cam[0] + (inPlate[0] - cam[0]) * t,
      cam[1] + (inPlate[1] - cam[1]) * t,
      cam[2] + (inPlate[2] - cam[2]) * t,
    ];
    const handAt = (p: Vec3) => {
      const alone = [seen('bystander', p, 10_100, 0)];
      const both = [...alone, seen('bystander', p, 10_110, 1)];
      return {
        ray: attribute(event, geometry, alone, ['bystander'], (id) => where.get(id) ?? [], config),
        placed: attribute(event, geometry, both, ['bystander'], (id) => where.get(id) ?? [], config),
      };
    };
    // Hanging at the bystander's side, in line with the plate from camera 0.
    const hanging = handAt(onRay(0.7));
    expect(hanging.ray.candidates[0]!.hands).toBeGreaterThan(0);
    expect(hanging.placed.candidates[0]).toMatchObject({ hands: 0, points: 0 });
    expect(hanging.placed.method).toBe('nearest');
    // Located just above the plate's volume, as a hand is on its way in: its rays still count.
    const top = plate.centerM[2] + config.reachAboveM;
    const justAbove = handAt(onRay((cam[2] - top - 0.1) / (cam[2] - inPlate[2])));
    expect(justAbove.placed.candidates[0]!.hands).toBeGreaterThan(0);
  });

  it('a ray that meets another shelf before the plate counts nothing: its hand is in front of that shelf', () => {
    const above = layout.shelves.find((s) => s.fixtureId === 'G1' && s.id === 'G1W3')!;
    expect(plate.shelfId).toBe('G1W2');
    // A hand reaching into the shelf above, seen from the aisle's ceiling: its ray goes on down
    // into the space above this plate, behind that shelf's board.
    const hand: Vec3 = [above.box.minM[0] + 0.05, plate.centerM[1], above.box.minM[2] + 0.05];
    const origin: Vec3 = [hand[0] - 0.7, hand[1], 3];
    const d: Vec3 = [hand[0] - origin[0], hand[1] - origin[1], hand[2] - origin[2]];
    const n = Math.hypot(...d);
    const s: HandSighting = {
      cameraId: 'c9',
      captureMs: 10_200,
      rayOriginM: origin,
      rayDirection: [d[0] / n, d[1] / n, d[2] / n],
      trackId: 'upper',
      score: 0.9,
    };
    const where = new Map<string, Vec2[]>([['upper', [outFromFront(0.5)]]]);
    const positions = (id: string) => where.get(id) ?? [];
    const through = AttributionConfig.parse({ fixturesOcclude: false });
    expect(
      attribute(event, geometry, [s], ['upper'], positions, through).candidates[0]!.hands,
    ).toBeGreaterThan(0);
    expect(attribute(event, geometry, [s], ['upper'], positions, config).candidates[0]!.hands).toBe(0);
    // The same camera sees a hand in this plate's volume, in through its open front.
    const direct = { ...s, rayDirection: unit(inPlate, origin) };
    expect(
      attribute(event, geometry, [direct], ['upper'], positions, config).candidates[0]!.hands,
    ).toBeGreaterThan(0);
  });

  it('is sure of the party when the near tie is between two members of the same visit', () => {
    const where = new Map<string, Vec2[]>([
      ['mum', [outFromFront(0.4, 0.2)]],
      ['kid', [outFromFront(0.4, -0.2)]],
      ['stranger', [outFromFront(1.5, 0)]],
    ]);
    const who = attribute(event, geometry, [], [...where.keys()], (id) => where.get(id) ?? [], config);
    expect(who.confidence).toBeLessThan(0.6);
    const family = (id: string) => (id === 'stranger' ? 'v2' : 'v1');
    expect(partyConfidence(who, family, config)).toBeGreaterThan(0.6);
    // Two different visits in the same near tie stay in doubt.
    expect(partyConfidence(who, (id) => id, config)).toBeCloseTo(who.confidence, 6);
  });

  it('puts first the visit whose members together are likelier than one shopper a little nearer', () => {
    const where = new Map<string, Vec2[]>([
      ['stranger', [outFromFront(0.5, 0)]],
      ['mum', [outFromFront(0.65, 0.3)]],
      ['kid', [outFromFront(0.65, -0.3)]],
    ]);
    const who = attribute(event, geometry, [], [...where.keys()], (id) => where.get(id) ?? [], config);
    expect(who.candidates[0]!.trackId).toBe('stranger');
    const family = (id: string) => (id === 'stranger' ? 'v2' : 'v1');
    const first = partyFirst(who, family, config);
    expect(family(first.candidates[0]!.trackId)).toBe('v1');
    expect(first.candidates.map((c) => c.trackId).sort()).toEqual(['kid', 'mum', 'stranger']);
    expect(partyConfidence(first, family, config)).toBeGreaterThan(0.5);
    // Each on a visit of their own: the nearest stays first, as it was.
    expect(partyFirst(who, (id) => id, config)).toEqual(who);
  });
});

describe('attribute: a hand hanging at its shopper’s side', () => {
  const noHangCheck = AttributionConfig.parse({ hangRadiusM: 0 });
  const models = layout.cameras.map(cameraModel);
  /** Ray from a camera through a point, with a hand box of the size a hand there has. */
  const sighting = (cam: CameraModel, at: Vec3, sizeAt: Vec3, trackId: string): HandSighting => {
    const q = project(cam, at)!;
    const side = (cam.fxPx * config.handSizeM) / project(cam, sizeAt)!.depthM;
    return {
      cameraId: cam.id,
      captureMs: 10_300,
      rayOriginM: cam.positionM,
      rayDirection: unit(at, cam.positionM),
      trackId,
      score: 0.9,
      bboxPx: { x: q.u - side / 2, y: q.v - side / 2, w: side, h: side },
    };
  };
  // A top plate seen from a camera whose ray to the hand of a shopper standing before it, hanging
  // at their side, passes through the space above the plate.
  const found = layout.plates.flatMap((p) => {
    if (p.centerM[2] < 1.4) return [];
    const [a, b] = geometry.front(p.id)!;
    const out = geometry.outward(p.id)!;
    const mid: Vec2 = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    const body: Vec2 = [mid[0] + out[0] * 0.6, mid[1] + out[1] * 0.6];
    const hand: Vec3 = [body[0] - out[0] * 0.2, body[1] - out[1] * 0.2, config.hangZM];
    const f = geometry.footprint(p.id)!;
    return models.flatMap((cam) => {
      const q = project(cam, hand);
      if (!q || q.u < 20 || q.v < 20 || q.u > cam.width - 20 || q.v > cam.height - 20) return [];
      const s = sighting(cam, hand, hand, 'me');
      return geometry.reaches(s, f, config.plateMarginM, config.reachAboveM) ? [{ p, body, hand, cam }] : [];
    });
  });

  it('counts its ray over a high plate for nothing when its box is the size of a hand at its side', () => {
    expect(found.length).toBeGreaterThan(0);
    const { p, body, hand, cam } = found[0]!;
    const onPlate: WeightEvent = {
      ...event,
      eventId: `${p.shelfId}@10000`,
      shelfId: p.shelfId,
      plates: [{ plateId: p.id, deltaG: -250 }],
    };
    const positions = () => [body];
    const hanging = sighting(cam, hand, hand, 'me');
    const t = (p.centerM[2] + 0.1 - cam.positionM[2]) / hanging.rayDirection[2];
    const atPlate: Vec3 = [
      cam.positionM[0] + t * hanging.rayDirection[0],
      cam.positionM[1] + t * hanging.rayDirection[1],
      p.centerM[2] + 0.1,
    ];
    const reaching = sighting(cam, hand, atPlate, 'me');
    const hands = (s: HandSighting, c: AttributionConfig) =>
      attribute(onPlate, geometry, [s], ['me'], positions, c).candidates[0]?.hands ?? 0;
    expect(hands(hanging, noHangCheck)).toBeGreaterThan(0);
    expect(hands(hanging, config)).toBe(0);
    // The same ray, with the bigger box of a hand up at the plate, still counts.
    expect(hands(reaching, config)).toBeGreaterThan(0);
    // Nor is it judged when the track stood nowhere near where the ray passes at hanging height.
    const away = () => [[body[0] + 3, body[1] + 3] as Vec2];
    expect(
      attribute(onPlate, geometry, [hanging], ['me'], away, { ...config, handReachM: 1e9 }).candidates[0]
        ?.hands,
    ).toBeGreaterThan(0);
  });
});

describe('PlateGeometry.handToPlatesM', () => {
  it('is how far out of the plate’s footprint the hand’s ray is at the plate’s height', () => {
    const at = (xy: Vec2) => seen('t1', [xy[0], xy[1], plate.centerM[2]], 0);
    expect(geometry.handToPlatesM(at(outFromFront(-0.1)), [PLATE])).toBe(0);
    expect(geometry.handToPlatesM(at(outFromFront(0.3)), [PLATE])).toBeCloseTo(0.3, 6);
    expect(geometry.handToPlatesM(at(outFromFront(0.6)), [PLATE])).toBeCloseTo(0.6, 6);
    expect(geometry.handToPlatesM(at(outFromFront(0.3)), [])).toBe(Number.POSITIVE_INFINITY);
  });
});
