/**
 * npx tsx benchmarks/accuracy/hand-links.ts [--relink [--set reachM=0.9 ...]] DUMP/{scenario}-{seed} ...
 *
 * How well the edge's hands were linked to tracks (edge/tracking/hands.ts) in kept runs
 * (bench-accuracy --dump): every hand sighting around the runs' weight events whose ray passes
 * within 8 cm of a true hand (trueHand, diagnose-load.ts) is scored against the truth: linked to
 * the track following that hand's person (right), to another (wrong), or to none; by how it was
 * linked (its person box, by reach, or to a nearer body). A run kept before sightings said how they were linked counts all as `box`.
 * --relink first gives the hands a run left with no track one by reach (replay-attribution.ts
 * `relinkByReach`), with edge/tracking/hands.ts's options changed by --set: how the figures of
 * DEFAULT_HAND_OPTIONS were measured, on a run kept before hands were linked by reach.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_HAND_OPTIONS } from '../../edge/tracking/hands.ts';
import { loadRun, personOfTrack, trueHand } from './diagnose-load.ts';
import { relinkByReach } from './replay-attribution.ts';
import { parseSets } from './set-args.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    relink: { type: 'boolean', default: false },
    set: { type: 'string', multiple: true, default: [] },
  },
});
const options = {
  ...DEFAULT_HAND_OPTIONS,
  ...parseSets(values.set),
};
const counts: Record<string, { right: number; wrong: number }> = {};
let unlinked = 0;
let unmatched = 0;
for (const dir of positionals) {
  const run = loadRun(dir);
  const seen = new Set<string>();
  for (const trace of run.resolves) {
    const personOf = new Map(trace.tracks.map((t) => [t.trackId, personOfTrack(run, t.samples)]));
    for (const s of values.relink ? relinkByReach(trace, options) : trace.sightings) {
      const key = `${s.cameraId}:${s.captureMs}:${s.rayDirection.join()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const owner = trueHand(run, s)?.personId;
      if (!owner) unmatched += 1;
      else if (!s.trackId) unlinked += 1;
      else {
        const by = s.linkedBy ?? 'box';
        counts[by] ??= { right: 0, wrong: 0 };
        const c = counts[by];
        if (personOf.get(s.trackId) === owner) c.right += 1;
        else c.wrong += 1;
      }
    }
  }
}
process.stdout.write(`${JSON.stringify({ byLink: counts, unlinked, unmatched }, null, 1)}\n`);
