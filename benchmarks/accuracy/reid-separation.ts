/**
 * How well re-id tells the people of a kept run apart, as edge/tracking/identity.ts uses it:
 *
 *   npx tsx benchmarks/accuracy/reid-separation.ts [--gallery-ms 10000] DUMP/baseline-N ...
 *
 * Clean views only: person observations placed on the floor (edge/tracking/floor.ts) within
 * 0.3 m of one true person and 1 m of no other. Each person's gallery is their first
 * `--gallery-ms` of such views (at most 100); every fifth view from 5 s after it is a probe. A
 * probe is won when its best match in its own person's gallery beats its best match in the
 * gallery of every other person in the store at its time (the identity rule's comparison).
 * Needs runs kept with detections (bench-accuracy --dump writes edge/dets.jsonl).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trackerConfig } from '../../edge/tracking/config.ts';
import { floorObservations } from '../../edge/tracking/floor.ts';
import { bestSimilarity } from '../../edge/tracking/reid.ts';
import { loadLayout } from '../../proto/index.ts';
import { cameraModel } from '../../proto/layout/projection.ts';
import { readDetections } from './dets-line.ts';
import { readTruth } from './truth.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'gallery-ms': { type: 'string', default: '10000' } },
});
const galleryMs = Number(values['gallery-ms']);
const config = trackerConfig();

for (const dir of positionals) {
  const layout = loadLayout(join(dir, 'layout.json'));
  const truth = readTruth(join(dir, 'truth', 'positions.jsonl'));
  const cameras = new Map(layout.cameras.map((c) => [c.id, cameraModel(c)]));
  const views = new Map<string, { tMs: number; embedding: Float32Array }[]>();
  for (const frame of readDetections(join(dir, 'edge', 'dets.jsonl'))) {
    const camera = cameras.get(frame.cameraId);
    const at = truth.near(frame.captureMs, 60);
    if (!camera || !at) continue;
    for (const o of floorObservations(frame, camera, config, config.highScore)) {
      if (!o.embedding || o.cut) continue;
      const near = [...at]
        .map(([id, xy]) => [id, Math.hypot(xy[0] - o.floorXyM[0], xy[1] - o.floorXyM[1])] as const)
        .sort((a, b) => a[1] - b[1]);
      if (!near[0] || near[0][1] > 0.3 || (near[1] && near[1][1] < 1)) continue;
      const list = views.get(near[0][0]) ?? [];
      list.push({ tMs: frame.captureMs, embedding: o.embedding });
      views.set(near[0][0], list);
    }
  }
  const people = [...views].filter(([, v]) => v.length >= 40);
  const gallery = new Map(
    people.map(([id, v]) => [
      id,
      v
        .filter((x) => x.tMs - v[0]!.tMs <= galleryMs)
        .slice(0, 100)
        .map((x) => x.embedding),
    ]),
  );
  const span = new Map(people.map(([id, v]) => [id, [v[0]!.tMs, v.at(-1)!.tMs] as const]));
  let probes = 0;
  let won = 0;
  for (const [id, v] of people) {
    const later = v.filter((x) => x.tMs - v[0]!.tMs > galleryMs + 5000);
    for (let i = 0; i < later.length; i += 5) {
      const { tMs, embedding } = later[i]!;
      const own = bestSimilarity(gallery.get(id)!, embedding) ?? -1;
      let other = -1;
      for (const [q] of people) {
        const [from, to] = span.get(q)!;
        if (q !== id && from <= tMs && to >= tMs)
          other = Math.max(other, bestSimilarity(gallery.get(q)!, embedding) ?? -1);
      }
      probes += 1;
      if (own > other) won += 1;
    }
  }
  process.stdout.write(
    `${JSON.stringify({ run: dir, people: people.length, probes, ownGalleryBest: probes ? won / probes : null })}\n`,
  );
}
