/**
 * npx tsx benchmarks/accuracy/contested.ts [--scenario NAME] [--near-ms 500] DUMP/{scenario}-{seed} ...
 *
 * Events two tracks' hands contest: weight events whose replayed attribution (replay-attribution.ts)
 * has hands or points of two or more tracks in the plates' volume. For each cue that could tell
 * the picker from a hand passing by, counts how often the track it ranks first followed the true
 * person (right), another (wrong), or it could not choose (tie). The score is attribute()'s own.
 */
import { parseArgs } from 'node:util';
import { PlateGeometry } from '../../edge/fusion/attribute.ts';
import { AttributionConfig, FusionConfig } from '../../edge/fusion/config.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import { diagnose } from './diagnose.ts';
import { loadRun, personOfTrack } from './diagnose-load.ts';
import { replay } from './replay-attribution.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    scenario: { type: 'string', default: 'baseline' },
    /** Hand rays this close (ms) to the shelf first moving count as "at the change". */
    'near-ms': { type: 'string', default: '500' },
  },
});
const nearMs = Number(values['near-ms']);
const config = AttributionConfig.parse(FusionConfig.parse({}).attribution);
const layout = loadScenario(values.scenario).layout;
const geometry = new PlateGeometry(layout);

interface Cues {
  truth: boolean;
  score: number;
  hands: number;
  points: number;
  nearness: number;
  raysAtChange: number;
  cameras: number;
  firstHand: number;
}
const cues: Record<string, (c: Cues) => number> = {
  score: (c) => c.score,
  hands: (c) => c.hands,
  points: (c) => c.points,
  nearness: (c) => c.nearness,
  [`rays within ${nearMs} ms of the change`]: (c) => c.raysAtChange,
  cameras: (c) => c.cameras,
  'first hand in': (c) => c.firstHand,
};
const tally = Object.fromEntries(Object.keys(cues).map((k) => [k, { right: 0, wrong: 0, tie: 0 }]));
let contested = 0;
let truthAbsent = 0;
for (const dir of positionals) {
  const run = loadRun(dir);
  const d = diagnose(run, layout, dir);
  const traces = new Map(run.resolves.map((t) => [t.event.eventId, t]));
  const per = new Map<string, number>();
  for (const f of d.findings) if (f.eventId) per.set(f.eventId, (per.get(f.eventId) ?? 0) + 1);
  for (const f of d.findings) {
    const trace = f.eventId ? traces.get(f.eventId) : undefined;
    if (!trace || per.get(f.eventId!) !== 1) continue;
    const who = replay(trace, layout, config);
    const reaching = who.candidates.filter((c) => c.hands > 0 || c.points > 0);
    if (reaching.length < 2) continue;
    const e = trace.event;
    const inVolume = (s: (typeof trace.sightings)[number]) =>
      e.plates.some((p) => {
        const fp = geometry.footprint(p.plateId);
        return fp !== undefined && geometry.reaches(s, fp, config.plateMarginM, config.reachAboveM);
      });
    const rows: Cues[] = reaching.map((c) => {
      const samples = trace.tracks.find((t) => t.trackId === c.trackId)?.samples ?? [];
      const rays = trace.sightings.filter(
        (s) =>
          s.trackId === c.trackId &&
          s.captureMs >= e.startMs - config.handBeforeMs &&
          s.captureMs <= e.settledMs + config.handAfterMs &&
          inVolume(s),
      );
      return {
        truth: personOfTrack(run, samples) === f.personId,
        score: c.score,
        hands: c.hands,
        points: c.points,
        nearness: -c.distanceM,
        raysAtChange: rays.filter((s) => Math.abs(s.captureMs - e.startMs) <= nearMs).length,
        cameras: new Set(rays.map((s) => s.cameraId)).size,
        firstHand: -(c.firstHandMs ?? Number.POSITIVE_INFINITY),
      };
    });
    if (!rows.some((r) => r.truth)) {
      truthAbsent += 1;
      continue;
    }
    contested += 1;
    for (const [name, cue] of Object.entries(cues)) {
      const best = Math.max(...rows.map(cue));
      const top = rows.filter((r) => cue(r) === best);
      const t = tally[name]!;
      if (top.length > 1) t.tie += 1;
      else if (top[0]!.truth) t.right += 1;
      else t.wrong += 1;
    }
  }
}
process.stdout.write(
  `${contested} contested events with the true person among the reaching tracks (${truthAbsent} without)\n`,
);
for (const [name, t] of Object.entries(tally))
  process.stdout.write(`  ${name.padEnd(34)} right ${t.right}  wrong ${t.wrong}  tie ${t.tie}\n`);
