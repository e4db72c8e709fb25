import { describe, expect, it } from 'vitest';
import { loadLayout } from '../../proto/layout/check.ts';
import { insidePolygon } from '../../proto/layout/geometry.ts';
import { cameraModel, project } from '../../proto/layout/projection.ts';
import { headDetection, standingHeadM } from '../../test/support/heads.ts';
import { trackerConfig } from './config.ts';
import { floorObservations, headFloorPoint, headsOfPersons, uncutHead } from './floor.ts';
import { beyondGate, birthZonesFor } from './zones.ts';

const layout = loadLayout(new URL('../../proto/stores/reference/layout.json', import.meta.url).pathname);
const cam = cameraModel(layout.cameras[0]!); // cam-11 at (1.5, 2.4, 3)
const config = trackerConfig();

/** A standing shopper's head seen centred at pixel (u, v). */
function standingHeadAt(u: number, v: number, score: number) {
  const xy = headFloorPoint(cam, { x: u, y: v, w: 0, h: 0 }, config.headHeightM, config.headDropPerM)!;
  return headDetection(cam, standingHeadM(cam, xy), score);
}

describe('floor observations', () => {
  it('places a head on the floor below it, the head plane dropping with distance from the nadir', () => {
    for (const [x, y] of [
      [1.5, 2.4],
      [2.5, 3.0],
      [0.2, 0.8],
    ] as const) {
      const r = Math.hypot(x - 1.5, y - 2.4);
      const p = project(cam, [x, y, 1.75 - 0.1 * r])!;
      const xy = headFloorPoint(cam, { x: p.u - 10, y: p.v - 10, w: 20, h: 20 }, 1.75, 0.1)!;
      expect(xy[0]).toBeCloseTo(x, 2);
      expect(xy[1]).toBeCloseTo(y, 2);
    }
  });

  it('squares a head box cut by the image border on its cut side', () => {
    expect(uncutHead({ x: 0, y: 100, w: 10, h: 24 }, 640, 480)).toEqual({
      box: { x: -14, y: 100, w: 24, h: 24 },
      cut: true,
    });
    expect(uncutHead({ x: 300, y: 460, w: 24, h: 20 }, 640, 480)).toEqual({
      box: { x: 300, y: 460, w: 24, h: 24 },
      cut: true,
    });
    expect(uncutHead({ x: 300, y: 200, w: 24, h: 20 }, 640, 480).cut).toBe(false);
  });

  it('pairs a head with the smallest person box around it; a person with a head is one observation, noisier farther out', () => {
    const dets = [
      { classIndex: 0, cls: 'person', score: 0.9, bbox: { x: 300, y: 200, w: 80, h: 100 } },
      { classIndex: 0, cls: 'person', score: 0.8, bbox: { x: 280, y: 180, w: 200, h: 200 } },
      standingHeadAt(330, 230, 0.7),
      standingHeadAt(610, 30, 0.6),
    ];
    expect([...headsOfPersons(dets, 4)]).toEqual([
      [0, 2],
      [-4, 3],
    ]);
    const obs = floorObservations(
      { cameraId: cam.id, frameIndex: 1, captureMs: 0, detections: dets },
      cam,
      config,
      0.2,
    );
    expect(obs.map((o) => [o.detIndexes, o.hasHead])).toEqual([
      [[0, 2], true],
      [[1], false],
      [[3], true],
    ]);
    expect(obs[2]!.sigmaM).toBeGreaterThan(obs[0]!.sigmaM);
  });
});

describe('a person box the image border cut', () => {
  it('gives its feet, the box point nearest the image centre, on the floor; its centre lies inside', () => {
    // A shopper out past the exit line, whose head is beyond cam-11's image.
    const at: [number, number] = [3.0, 0.5];
    // The box of a body 0.4 m wide from the floor to 1.7 m, clipped to the image.
    const corners = [-0.2, 0.2].flatMap((dx) => [0, 1.7].map((z) => project(cam, [at[0] + dx, at[1], z])!));
    expect(corners.some((p) => p.u > 640 || p.v < 0 || p.v > 480)).toBe(true);
    const clip = (v: number, max: number) => Math.min(Math.max(v, 0), max);
    const [x0, x1] = [
      clip(Math.min(...corners.map((p) => p.u)), 640),
      clip(Math.max(...corners.map((p) => p.u)), 640),
    ];
    const [y0, y1] = [
      clip(Math.min(...corners.map((p) => p.v)), 480),
      clip(Math.max(...corners.map((p) => p.v)), 480),
    ];
    const [o] = floorObservations(
      {
        cameraId: cam.id,
        frameIndex: 1,
        captureMs: 0,
        detections: [
          { classIndex: 0, cls: 'person', score: 0.9, bbox: { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } },
        ],
      },
      cam,
      config,
      0.2,
    );
    const off = (xy: readonly number[]) => Math.hypot(xy[0]! - at[0], xy[1]! - at[1]);
    expect(o!.cut).toBe(true);
    expect(off(o!.feetXyM!)).toBeLessThan(0.25);
    expect(off(o!.floorXyM)).toBeGreaterThan(off(o!.feetXyM!) + 0.1);
  });
});

describe('a crouching shopper, with crouchDropM (off by default: see its description)', () => {
  // Crouched to a bottom shelf: the head 0.75 m above the floor, its box the size of a head that
  // near the camera.
  const at: [number, number] = [2.9, 3.5];
  const crouching = trackerConfig({ crouchDropM: 0.5 });
  const observe = (score: number, cfg = crouching) =>
    floorObservations(
      {
        cameraId: cam.id,
        frameIndex: 1,
        captureMs: 0,
        detections: [headDetection(cam, [...at, 0.75], score)],
      },
      cam,
      cfg,
      0.2,
    )[0]!.floorXyM;
  const off = (xy: readonly number[]) => Math.hypot(xy[0]! - at[0], xy[1]! - at[1]);

  it('is placed where they crouch, from the size of their head box', () => {
    expect(off(observe(0.9))).toBeLessThan(0.15);
    // On the head plane, the ray is cut a metre above the head: the point lands near the camera.
    expect(off(observe(0.9, config))).toBeGreaterThan(0.5);
  });

  it('is placed on the head plane when the head box is weak or not square (two heads in one box)', () => {
    expect(off(observe(crouching.crouchMinScore - 0.1))).toBeGreaterThan(0.5);
    const d = headDetection(cam, [...at, 0.75], 0.9);
    const long = { ...d, bbox: { ...d.bbox, w: d.bbox.w * 1.6 } };
    const xy = floorObservations(
      { cameraId: cam.id, frameIndex: 1, captureMs: 0, detections: [long] },
      cam,
      crouching,
      0.2,
    )[0]!.floorXyM;
    expect(off(xy)).toBeGreaterThan(0.5);
  });
});

describe('zones', () => {
  it('lets tracks be born around the entry gate only, mostly on its street side', () => {
    const [zone] = birthZonesFor(layout, config); // entry line (1, 1)–(2, 1), in = +y
    expect(insidePolygon(zone!, 1.5, 0.2)).toBe(true);
    expect(insidePolygon(zone!, 1.5, 1.3)).toBe(true);
    expect(insidePolygon(zone!, 1.5, 2)).toBe(false);
    expect(insidePolygon(zone!, 3.5, 0.5)).toBe(false); // before the exit
  });

  it('tells a point that has passed out through the exit', () => {
    const exit = layout.gates.find((g) => g.kind === 'exit')!; // (3, 1)–(4, 1)
    expect(beyondGate(exit, [3.5, 0.5], 1.5)).toBe(true);
    expect(beyondGate(exit, [3.5, 1.5], 1.5)).toBe(false);
    expect(beyondGate(exit, [8, 0.5], 1.5)).toBe(false);
  });
});
