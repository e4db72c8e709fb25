/**
 * npx tsx benchmarks/accuracy/idf1-losses.ts DUMP/{scenario}-{seed} ...
 *
 * Where the floor IDF1 of kept runs (bench-accuracy --dump) is lost. Scores each run's track
 * statements (edge/positions.jsonl, lost tracks left out, sampled as bench-accuracy samples them:
 * floor-frames.ts) against
 * truth/positions.jsonl at a 0.5 m match, pairs trajectories as IDF1 does, and sorts every truth
 * frame not credited (IDFN) and every track frame not credited (IDFP) by why:
 * - IDFN: no track within 0.5 m (`uncovered`), or only tracks paired with someone else or no one
 *   (`other track`); when: before the person's first credited frame (a late start), after the
 *   last (an early end), between (`during`: and then how far off the person's own track was), or
 *   `never`; where: outside the floor polygon, within 1.5 m of a gate's centre, or on the floor.
 * - IDFP: no one within 0.5 m (`no one`), or only people it is not paired with (`someone else`);
 *   where, as above.
 * Prints the counts per run and in all, so a change to the tracker can be aimed at the largest.
 */
import { join } from 'node:path';
import { loadLayout } from '../../proto/index.ts';
import { insidePolygon } from '../../proto/layout/geometry.ts';
import type { Vec2 } from '../../proto/layout/schema.ts';
import { jsonl } from './diagnose-load.ts';
import { floorFrames } from './floor-frames.ts';
import { idScores } from './mot-metrics.ts';
import { readTruth } from './truth.ts';

const MATCH_M = 0.5;
const GATE_NEAR_M = 1.5;

interface PositionsLine {
  tsMs: number;
  tracks: { trackId: string; xyM: Vec2; state: string }[];
}

const dist = (a: Vec2, b: Vec2) => Math.hypot(a[0] - b[0], a[1] - b[1]);

const total = new Map<string, number>();
const add = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

for (const dir of process.argv.slice(2)) {
  const layout = loadLayout(join(dir, 'layout.json'));
  const gates = layout.gates.map(
    (g) => [(g.lineM[0][0] + g.lineM[1][0]) / 2, (g.lineM[0][1] + g.lineM[1][1]) / 2] as Vec2,
  );
  const frames = floorFrames(
    jsonl<PositionsLine>(join(dir, 'edge', 'positions.jsonl')).map((l) => ({
      tsMs: l.tsMs,
      hyp: l.tracks.filter((h) => h.state !== 'lost').map((h) => ({ id: h.trackId, xyM: h.xyM })),
    })),
    readTruth(join(dir, 'truth', 'positions.jsonl')),
  );
  const s = idScores(frames, MATCH_M);
  const hypOf = s.mapping;
  const gtOf = new Map([...hypOf].map(([g, h]) => [h, g]));
  const counts = new Map<string, number>();
  // Each person's first and last credited frame: a loss before the first is a late start, after
  // the last an early end, between them a gap.
  const credited = new Map<string, [number, number]>();
  frames.forEach((f, k) => {
    for (const g of f.gt) {
      if (!f.hyp.some((h) => h.id === hypOf.get(g.id) && dist(h.xyM, g.xyM) <= MATCH_M)) continue;
      const c = credited.get(g.id);
      credited.set(g.id, c ? [c[0], k] : [k, k]);
    }
  });
  for (const [k, f] of frames.entries()) {
    for (const g of f.gt) {
      const near = f.hyp.filter((h) => dist(h.xyM, g.xyM) <= MATCH_M);
      if (near.some((h) => h.id === hypOf.get(g.id))) continue;
      const c = credited.get(g.id);
      const when = !c ? 'never' : k < c[0] ? 'before' : k > c[1] ? 'after' : 'during';
      const where = !insidePolygon(layout.floorPolygonM, g.xyM[0], g.xyM[1])
        ? 'outside floor'
        : gates.some((c) => dist(c, g.xyM) <= GATE_NEAR_M)
          ? 'near gate'
          : 'floor';
      add(counts, `IDFN ${near.length === 0 ? 'uncovered' : 'other track'} ${when} (${where})`);
      if (when === 'during') {
        // How far off its own track was: a track placed beside its person, or not out at all.
        const mine = f.hyp.find((h) => h.id === hypOf.get(g.id));
        const d = mine ? dist(mine.xyM, g.xyM) : null;
        add(
          counts,
          `IDFN during: own track ${d === null ? 'not out' : `${d < 0.75 ? '0.5-0.75' : d < 1 ? '0.75-1' : d < 2 ? '1-2' : 'over 2'} m off`}`,
        );
      }
    }
    for (const h of f.hyp) {
      const mine = gtOf.get(h.id);
      const near = f.gt.filter((g) => dist(h.xyM, g.xyM) <= MATCH_M);
      if (near.some((g) => g.id === mine)) continue;
      const where = !insidePolygon(layout.floorPolygonM, h.xyM[0], h.xyM[1])
        ? 'outside floor'
        : gates.some((c) => dist(c, h.xyM) <= GATE_NEAR_M)
          ? 'near gate'
          : 'floor';
      add(
        counts,
        `IDFP ${near.length === 0 ? 'no one' : 'someone else'}${mine ? '' : ' (unpaired track)'} (${where})`,
      );
    }
  }
  console.log(`${dir}: IDF1 ${s.idf1.toFixed(3)} (IDTP ${s.idtp}, IDFN ${s.idfn}, IDFP ${s.idfp})`);
  for (const [k, n] of [...counts].sort()) {
    console.log(`  ${k}: ${n}`);
    add(total, k, n);
  }
  add(total, 'IDTP', s.idtp);
}
console.log('all:');
for (const [k, n] of [...total].sort()) console.log(`  ${k}: ${n}`);
