/**
 * How well each way of placing a detected person on the floor does against the simulator's truth
 * (truth/positions.jsonl, same capture times as the frames): per method, the distance from each
 * placed point to the nearest true person, median / p90 / share within 0.5 m.
 *
 *   npx tsx benchmarks/accuracy/floor-error.ts --rec /tmp/tracking/REC --dets /tmp/tracking/dets.jsonl
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  cutByBorder,
  feetFloorPoint,
  headFloorPoint,
  headsOfPersons,
  personFloorPoint,
  uncutHead,
} from '../../edge/tracking/floor.ts';
import type { FrameDetections } from '../../edge/types.ts';
import type { PixelBox } from '../../models/runtime/index.ts';
import { loadLayout } from '../../proto/index.ts';
import { type CameraModel, cameraModel } from '../../proto/layout/projection.ts';
import type { Vec2 } from '../../proto/layout/schema.ts';
import { readTruth } from './truth.ts';

const { values } = parseArgs({ options: { rec: { type: 'string' }, dets: { type: 'string' } } });
const rec = values.rec!;
const layout = loadLayout(join(rec, 'layout.json'));
const cameras = new Map(layout.cameras.map((c) => [c.id, cameraModel(c)]));
const truth = readTruth(join(rec, 'truth', 'positions.jsonl'));
const frames = readFileSync(values.dets!, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as FrameDetections);

const methods: Record<
  string,
  (cam: CameraModel, person: PixelBox | null, head: PixelBox | null) => Vec2 | null
> = {
  'head@1.5': (c, _p, h) => (h ? headFloorPoint(c, h, 1.5) : null),
  'head@1.6': (c, _p, h) => (h ? headFloorPoint(c, h, 1.6) : null),
  'head@1.7': (c, _p, h) => (h ? headFloorPoint(c, h, 1.7) : null),
  'head@1.7-0.06/m': (c, _p, h) => (h ? headFloorPoint(c, h, 1.7, 0.06) : null),
  'head@1.72-0.08/m': (c, _p, h) => (h ? headFloorPoint(c, h, 1.72, 0.08) : null),
  'head@1.75-0.1/m': (c, _p, h) => (h ? headFloorPoint(c, h, 1.75, 0.1) : null),
  'head@1.7-0.12/m': (c, _p, h) => (h ? headFloorPoint(c, h, 1.7, 0.12) : null),
  'uncut head@1.6': (c, _p, h) => (h ? headFloorPoint(c, uncutHead(h, 640, 480).box, 1.6) : null),
  'uncut head@1.72-0.08/m': (c, _p, h) =>
    h ? headFloorPoint(c, uncutHead(h, 640, 480).box, 1.72, 0.08) : null,
  'uncut head@1.75-0.1/m': (c, _p, h) =>
    h ? headFloorPoint(c, uncutHead(h, 640, 480).box, 1.75, 0.1) : null,
  'personCentre@0.7': (c, p) => (p ? personFloorPoint(c, p, 0.7) : null),
  'personCentre@0.9': (c, p) => (p ? personFloorPoint(c, p, 0.9) : null),
  'personCentre@1.1': (c, p) => (p ? personFloorPoint(c, p, 1.1) : null),
  personFeet: (c, p) => (p ? feetFloorPoint(c, p) : null),
  'personCentre@0.9 (no head)': (c, p, h) => (p && !h ? personFloorPoint(c, p, 0.9) : null),
  'personCentre@0.9 (no head, cut)': (c, p, h) =>
    p && !h && cutByBorder(p, c.width, c.height) ? personFloorPoint(c, p, 0.9) : null,
  'personFeet (no head, cut)': (c, p, h) =>
    p && !h && cutByBorder(p, c.width, c.height) ? feetFloorPoint(c, p) : null,
};
const errors: Record<string, number[]> = Object.fromEntries(Object.keys(methods).map((k) => [k, []]));
for (const f of frames) {
  const people = truth.at(f.captureMs);
  if (!people || people.size === 0) continue;
  const cam = cameras.get(f.cameraId)!;
  const owner = headsOfPersons(f.detections, 4);
  for (const [i, d] of f.detections.entries()) {
    if (d.cls !== 'person' || d.score < 0.5) continue;
    const h = owner.get(i);
    for (const [name, fn] of Object.entries(methods)) {
      const xy = fn(cam, d.bbox, h === undefined ? null : f.detections[h]!.bbox);
      if (!xy) continue;
      let best = Number.POSITIVE_INFINITY;
      for (const t of people.values()) best = Math.min(best, Math.hypot(t[0] - xy[0], t[1] - xy[1]));
      errors[name]!.push(best);
    }
  }
}
const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? Number.NaN;
for (const [name, xs] of Object.entries(errors)) {
  xs.sort((a, b) => a - b);
  const within = xs.filter((e) => e <= 0.5).length / xs.length;
  process.stdout.write(
    `${name.padEnd(28)} n=${String(xs.length).padStart(6)} median ${q(xs, 0.5).toFixed(3)} m  p90 ${q(xs, 0.9).toFixed(3)} m  within 0.5 m ${(within * 100).toFixed(1)}%\n`,
  );
}
