/**
 * How well a head box's size tells the head's height (edge/tracking/floor.ts `headDropFromSize`):
 *
 *   npx tsx benchmarks/accuracy/head-size.ts DUMP/baseline-N ... [--dets FILE]
 *
 * Whole heads detected at the tracker's crouch score or more are matched to the true head that
 * projects within 12 px of their box's centre. Prints, by distance from the camera's nadir, the
 * apparent size (box size in pixels × depth / focal length, metres) of standing heads, which the
 * config's headSizeM and headSizePerMetreM model; then the height error of the tracker's reading
 * and its readings of standing and crouching heads. Needs runs kept with detections
 * (bench-accuracy --dump writes edge/dets.jsonl) or --dets for one recording.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trackerConfig } from '../../edge/tracking/config.ts';
import { cutByBorder, headDropFromSize } from '../../edge/tracking/floor.ts';
import { loadLayout } from '../../proto/index.ts';
import { cameraModel, project } from '../../proto/layout/projection.ts';
import type { Vec3 } from '../../proto/layout/schema.ts';
import { readDetections } from './dets-line.ts';
import { personsNear, readTruthPersons } from './diagnose-load.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { dets: { type: 'string' } } });
const config = trackerConfig();
/** Below this a true head counts as crouching. */
const CROUCHED_BELOW_M = 1.2;

const apparent = new Map<number, number[]>();
const errors: number[] = [];
const read = { standing: [] as number[], crouching: [] as number[] };
for (const dir of positionals) {
  const layout = loadLayout(join(dir, 'layout.json'));
  const cameras = new Map(layout.cameras.map((c) => [c.id, cameraModel(c)]));
  const truth = readTruthPersons(dir);
  const dets = values.dets ?? join(dir, 'edge', 'dets.jsonl');
  for (const frame of readDetections(dets)) {
    const camera = cameras.get(frame.cameraId);
    if (!camera) continue;
    const truthHeads = personsNear(truth, frame.captureMs).flatMap((p) => (p.headM ? [p.headM] : []));
    for (const d of frame.detections) {
      const b = d.bbox;
      if (d.cls !== 'head' || d.score < config.crouchMinScore) continue;
      if (cutByBorder(b, camera.width, camera.height)) continue;
      const u = b.x + b.w / 2;
      const v = b.y + b.h / 2;
      let best: { headM: Vec3; depthM: number } | null = null;
      let bestPx = 12;
      for (const headM of truthHeads) {
        const q = project(camera, headM);
        const px = q ? Math.hypot(q.u - u, q.v - v) : Number.POSITIVE_INFINITY;
        if (q && px < bestPx) {
          bestPx = px;
          best = { headM, depthM: q.depthM };
        }
      }
      if (!best) continue;
      const [x, y, z] = best.headM;
      const nadirM = Math.hypot(x - camera.positionM[0], y - camera.positionM[1]);
      if (z >= CROUCHED_BELOW_M) {
        const bin = Math.floor(nadirM * 2) / 2;
        apparent.set(bin, [...(apparent.get(bin) ?? []), (Math.sqrt(b.w * b.h) * best.depthM) / camera.fxPx]);
      }
      const readM = config.standingHeadM - headDropFromSize(camera, b, nadirM, config);
      errors.push(Math.abs(readM - z));
      (z >= CROUCHED_BELOW_M ? read.standing : read.crouching).push(readM);
    }
  }
}

const q = (v: number[], f: number) =>
  [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) * f)] ?? Number.NaN;
const p = (v: number[]) =>
  `p10 ${q(v, 0.1).toFixed(3)}  p50 ${q(v, 0.5).toFixed(3)}  p90 ${q(v, 0.9).toFixed(3)}`;
process.stdout.write('standing heads, apparent size (m) by distance from the nadir:\n');
for (const [bin, v] of [...apparent].sort((a, b) => a[0] - b[0]))
  process.stdout.write(`  ${bin.toFixed(1)}–${(bin + 0.5).toFixed(1)} m  n ${v.length}  ${p(v)}\n`);
process.stdout.write(`  model: ${config.headSizeM} + ${config.headSizePerMetreM} per metre\n`);
process.stdout.write(`height read from size, |error| (m): n ${errors.length}  ${p(errors)}\n`);
process.stdout.write(`  standing heads read at (m): n ${read.standing.length}  ${p(read.standing)}\n`);
process.stdout.write(
  `  crouching heads (below ${CROUCHED_BELOW_M} m) read at (m): n ${read.crouching.length}  ${p(read.crouching)}\n`,
);
