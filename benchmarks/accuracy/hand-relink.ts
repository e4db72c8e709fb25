/**
 * npx tsx benchmarks/accuracy/hand-relink.ts [--set nearerByM=0.2 ...] DUMP/{scenario}-{seed} ...
 *
 * The hand stage (edge/tracking/hands.ts) replayed with other options, in seconds: runs the floor
 * tracker over a kept run's detections (DUMP/edge/dets.jsonl, bench-accuracy --dump) as the edge
 * does, links every frame's hands with DEFAULT_HAND_OPTIONS and with them changed by --set, and
 * scores each hand a true hand explains (trueHand, diagnose-load.ts) against the truth: linked to
 * the track standing over that hand's person (right: the nearest true person within 1 m of the
 * track), to another (wrong), or to none. Hands at a shelf (the true hand within SHELF_M of a
 * plate's front edge, above the floor's clutter) are what attribution counts, and are scored apart.
 * Only frames with two or more people inside: alone, a hand has one owner.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PlateGeometry } from '../../edge/fusion/attribute.ts';
import { trackerConfig } from '../../edge/tracking/config.ts';
import { DEFAULT_HAND_OPTIONS, type HandOptions, handSightings } from '../../edge/tracking/hands.ts';
import { FloorTracker } from '../../edge/tracking/tracker.ts';
import { birthZonesFor } from '../../edge/tracking/zones.ts';
import type { FrameDetections } from '../../edge/types.ts';
import { cameraModel } from '../../proto/layout/projection.ts';
import type { StoreLayout } from '../../proto/layout/schema.ts';
import { personOfTrack, personsNear, readTruthPersons, trueHand } from './diagnose-load.ts';
import { parseSets } from './set-args.ts';

const SHELF_M = 0.3;

type Tally = { right: number; wrong: number; none: number };
const tally = (): { all: Tally; shelf: Tally } => ({
  all: { right: 0, wrong: 0, none: 0 },
  shelf: { right: 0, wrong: 0, none: 0 },
});

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { set: { type: 'string', multiple: true, default: [] } },
});
const variants: [string, HandOptions][] = [
  ['default', DEFAULT_HAND_OPTIONS],
  ...(values.set.length > 0
    ? [[values.set.join(' '), { ...DEFAULT_HAND_OPTIONS, ...parseSets(values.set) }] as [string, HandOptions]]
    : []),
];
const scores = variants.map(() => tally());
for (const dir of positionals) {
  const layout = JSON.parse(readFileSync(join(dir, 'layout.json'), 'utf8')) as StoreLayout;
  const truth = readTruthPersons(dir);
  const cameras = new Map(layout.cameras.map((c) => [c.id, cameraModel(c)]));
  const geometry = new PlateGeometry(layout);
  const plateIds = [...geometry.plates.keys()];
  const frames = readFileSync(join(dir, 'edge', 'dets.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as FrameDetections)
    .sort((a, b) => a.captureMs - b.captureMs || a.cameraId.localeCompare(b.cameraId));
  const config = trackerConfig({});
  const tracker = new FloorTracker({
    config,
    cameras: layout.cameras.map(cameraModel),
    birthZones: birthZonesFor(layout, config),
  });
  for (const frame of frames) {
    const { tracks, personTrack } = tracker.update(frame);
    const camera = cameras.get(frame.cameraId);
    const people = personsNear(truth, frame.captureMs);
    if (!camera || people.length < 2) continue;
    const personOf = (trackId: string | null): string | null => {
      const t = tracks.find((x) => x.trackId === trackId);
      return t ? personOfTrack(truth, [{ tsMs: frame.captureMs, xyM: t.floorXyM }]) : null;
    };
    variants.forEach(([, options], i) => {
      for (const s of handSightings(frame, camera, personTrack, tracks, options)) {
        const hand = trueHand(truth, s);
        if (!hand) continue;
        const got = personOf(s.trackId);
        const key = got === hand.personId ? 'right' : got ? 'wrong' : 'none';
        scores[i]!.all[key] += 1;
        const [x, y, z] = hand.handM;
        if (z > 0.2 && geometry.distanceToFronts(plateIds, [x, y]) < SHELF_M) scores[i]!.shelf[key] += 1;
      }
    });
  }
}
const out = Object.fromEntries(variants.map(([name], i) => [name, scores[i]]));
process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
