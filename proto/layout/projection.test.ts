import { describe, expect, it } from 'vitest';
import { loadCatalog, loadLayout } from '../index.ts';
import { cameraModel, inImage, project, unprojectToPlane } from './projection.ts';
import type { Camera, Vec3 } from './schema.ts';

const catalog = loadCatalog(new URL('../stores/reference/catalog.json', import.meta.url).pathname);
const layout = loadLayout(new URL('../stores/reference/layout.json', import.meta.url).pathname, catalog);

function tilted(yawDeg: number, pitchDeg: number, rollDeg: number): Camera {
  return {
    id: 'c',
    positionM: [3, 4, 3],
    yawDeg,
    pitchDeg,
    rollDeg,
    resolution: { width: 640, height: 480 },
    lens: { hfovDeg: 100 },
    fps: 10,
  };
}

describe('camera projection', () => {
  it('sends every floor and shelf point seen by a camera back to itself within a centimetre', () => {
    const cams = [...layout.cameras, tilted(30, 20, 5), tilted(-120, 35, -10)];
    let checked = 0;
    for (const cam of cams) {
      const m = cameraModel(cam);
      for (let x = 0; x <= 12; x += 0.37) {
        for (let y = 0; y <= 9; y += 0.41) {
          for (const z of [0, 0.6, 1.5]) {
            const p: Vec3 = [x, y, z];
            const q = project(m, p);
            if (!q || !inImage(m, q)) continue;
            const back = unprojectToPlane(m, q.u, q.v, z)!;
            expect(Math.hypot(back[0] - x, back[1] - y, back[2] - z)).toBeLessThan(0.01);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('looks straight down with north at the top of the image when yaw, pitch and roll are zero', () => {
    const m = cameraModel({ ...tilted(0, 0, 0), positionM: [5, 5, 3] });
    const centre = project(m, [5, 5, 0])!;
    expect(centre.u).toBeCloseTo(320, 6);
    expect(centre.v).toBeCloseTo(240, 6);
    expect(project(m, [5, 6, 0])!.v).toBeLessThan(centre.v); // north is up
    expect(project(m, [6, 5, 0])!.u).toBeGreaterThan(centre.u); // east is right
    expect(project(m, [5, 5, 4])).toBeNull(); // above the camera: behind it
  });

  it('pitch tilts the view towards image-up, yaw turns it', () => {
    const pitched = cameraModel({ ...tilted(0, 30, 0), positionM: [0, 0, 3] });
    const hit = unprojectToPlane(pitched, 320, 240, 0)!;
    expect(hit[0]).toBeCloseTo(0, 6);
    expect(hit[1]).toBeCloseTo(3 * Math.tan(Math.PI / 6), 6);
    const yawed = cameraModel({ ...tilted(90, 30, 0), positionM: [0, 0, 3] });
    const hit2 = unprojectToPlane(yawed, 320, 240, 0)!;
    expect(hit2[0]).toBeCloseTo(-3 * Math.tan(Math.PI / 6), 6); // yaw 90° = image-up points west
  });

  it('sees every point of the reference store floor from at least two cameras', () => {
    const models = layout.cameras.map(cameraModel);
    let worst = Number.POSITIVE_INFINITY;
    for (let x = 0.05; x < 12; x += 0.1) {
      for (let y = 0.05; y < 9; y += 0.1) {
        const seen = models.filter((m) => {
          const q = project(m, [x, y, 0]);
          return q !== null && inImage(m, q);
        }).length;
        worst = Math.min(worst, seen);
      }
    }
    expect(worst).toBeGreaterThanOrEqual(2);
  });
});
