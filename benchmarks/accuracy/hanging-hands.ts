/**
 * npx tsx benchmarks/accuracy/hanging-hands.ts [--set hangRadiusM=0.4 ...] DUMP/{scenario}-{seed} ...
 *
 * How well the attribution's hanging-hand check (PlateGeometry.hangsAtSide, edge/fusion/attribute.ts)
 * tells hands at a plate from hands elsewhere whose ray crosses the plate's space, in kept runs
 * (bench-accuracy --dump): each linked sighting around a weight event whose ray reaches the event's
 * plate and passes within 8 cm of a true hand is counted by the plate's height, by where that true
 * hand was (at the plate: within 0.35 m of its front, from 0.2 m below its surface to 0.5 m above; else
 * elsewhere) and by what the check says; and the median hand size behind `handSizeM` (each such
 * box's side × its true hand's depth ÷ the focal length). The attribution config's defaults unless
 * --set.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HANG_POSITION_MS, PlateGeometry } from '../../edge/fusion/attribute.ts';
import { AttributionConfig } from '../../edge/fusion/config.ts';
import { cameraModel, project } from '../../proto/layout/projection.ts';
import type { StoreLayout } from '../../proto/layout/schema.ts';
import { loadRun, trueHand } from './diagnose-load.ts';
import { parseSets } from './set-args.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { set: { type: 'string', multiple: true, default: [] } },
});
const cfg = AttributionConfig.parse(parseSets(values.set));
const tally: Record<string, number> = {};
const sizesM: number[] = [];
for (const dir of positionals) {
  const run = loadRun(dir);
  const layout = JSON.parse(readFileSync(join(dir, 'layout.json'), 'utf8')) as StoreLayout;
  const geometry = new PlateGeometry(layout);
  const cameras = new Map(layout.cameras.map((c) => [c.id, cameraModel(c)]));
  for (const trace of run.resolves) {
    const e = trace.event;
    const plateIds = e.plates.map((p) => p.plateId);
    const f = geometry.footprint(plateIds[0]!)!;
    for (const s of trace.sightings) {
      if (
        !s.trackId ||
        s.captureMs < e.startMs - cfg.handBeforeMs ||
        s.captureMs > e.settledMs + cfg.handAfterMs
      )
        continue;
      if (!geometry.reaches(s, f, cfg.plateMarginM, cfg.reachAboveM)) continue;
      const hand = trueHand(run, s);
      if (!hand) continue;
      const cam = cameras.get(s.cameraId);
      const depthM = cam && project(cam, hand.handM)?.depthM;
      if (cam && depthM && s.bboxPx) sizesM.push((Math.sqrt(s.bboxPx.w * s.bboxPx.h) * depthM) / cam.fxPx);
      const nearFront = geometry.distanceToFronts(plateIds, [hand.handM[0], hand.handM[1]]) < 0.35;
      const atHeight = hand.handM[2] > f.topZ - 0.2 && hand.handM[2] < f.topZ + 0.5;
      const where = nearFront && atHeight ? 'at plate' : 'elsewhere';
      const bodyAt =
        trace.tracks
          .find((t) => t.trackId === s.trackId)
          ?.samples.filter((x) => Math.abs(x.tsMs - s.captureMs) <= HANG_POSITION_MS)
          .map((x) => x.xyM) ?? [];
      const says = geometry.hangsAtSide(s, f, () => bodyAt, cfg) ? 'hanging' : 'counted';
      const key = `plate at ${f.topZ.toFixed(2)} m, hand ${where}, ${says}`;
      tally[key] = (tally[key] ?? 0) + 1;
    }
  }
}
for (const [k, n] of Object.entries(tally).sort()) process.stdout.write(`${k.padEnd(48)} ${n}\n`);
sizesM.sort((a, b) => a - b);
const at = (q: number) => sizesM[Math.floor(q * (sizesM.length - 1))]?.toFixed(3);
process.stdout.write(
  `hand size (m): p10 ${at(0.1)}, median ${at(0.5)}, p90 ${at(0.9)} over ${sizesM.length} boxes\n`,
);
