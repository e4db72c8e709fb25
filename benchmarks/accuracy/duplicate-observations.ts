/**
 * npx tsx benchmarks/accuracy/duplicate-observations.ts DUMP/{scenario}-{seed} ...
 *
 * How often a camera frame places one person twice: of each frame's confident floor observations
 * (edge/tracking/floor.ts at the tracker's default settings, score ≥ highScore), those nearest
 * (within 1 m) to a person the frame already has an observation of, by the truth's positions, and
 * what the pairs are made of (person box, head, cut by the border). A second observation can take
 * a track from its person in stage 1 of the tracker's association. Reads a kept run's
 * `edge/dets.jsonl`, `layout.json` and `truth/positions.jsonl`; changes nothing.
 */
import { join } from 'node:path';
import { trackerConfig } from '../../edge/tracking/config.ts';
import { type FloorObservation, floorObservations } from '../../edge/tracking/floor.ts';
import type { FrameDetections } from '../../edge/types.ts';
import { loadLayout } from '../../proto/index.ts';
import { cameraModel } from '../../proto/layout/projection.ts';
import { readDetections } from './dets-line.ts';
import { readTruth } from './truth.ts';

/** An observation this far (m) from every true person is no one's. */
const NEAR_M = 1;

function kind(o: FloorObservation, f: FrameDetections): string {
  const parts = o.detIndexes.map((i) => f.detections[i]!.cls).join('+');
  return `${parts}${o.cut ? ' (cut)' : ''}`;
}

for (const dir of process.argv.slice(2)) {
  const layout = loadLayout(join(dir, 'layout.json'));
  const truth = readTruth(join(dir, 'truth', 'positions.jsonl'));
  const config = trackerConfig();
  const cameras = new Map(layout.cameras.map((c) => [c.id, cameraModel(c)]));
  let confident = 0;
  let second = 0;
  const kinds = new Map<string, number>();
  for (const f of readDetections(join(dir, 'edge', 'dets.jsonl'))) {
    const people = truth.near(f.captureMs, 100);
    const camera = cameras.get(f.cameraId);
    if (!people || !camera) continue;
    const obs = floorObservations(f, camera, config, config.lowScore).filter(
      (o) => o.score >= config.highScore,
    );
    confident += obs.length;
    const byPerson = new Map<string, FloorObservation[]>();
    for (const o of obs) {
      let who: string | null = null;
      let nearest = NEAR_M;
      for (const [id, xy] of people) {
        const d = Math.hypot(xy[0] - o.floorXyM[0], xy[1] - o.floorXyM[1]);
        if (d < nearest) [who, nearest] = [id, d];
      }
      if (who) byPerson.set(who, [...(byPerson.get(who) ?? []), o]);
    }
    for (const same of byPerson.values()) {
      if (same.length < 2) continue;
      second += same.length - 1;
      const k = same
        .map((o) => kind(o, f))
        .sort()
        .join(' & ');
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
  }
  const share = confident > 0 ? second / confident : 0;
  process.stdout.write(
    `${dir}: ${confident} confident observations, ${second} a second one of a person (${(share * 100).toFixed(1)} %)\n`,
  );
  for (const [k, n] of [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 5))
    process.stdout.write(`  ${n}\t${k}\n`);
}
