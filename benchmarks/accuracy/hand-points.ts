/**
 * npx tsx benchmarks/accuracy/hand-points.ts [--linked-only] [--gap M] DUMP/{scenario}-{seed} ...
 *
 * Hands located in 3D (edge/tracking/hands.ts `handPoints`) inside the plate's volume during each
 * weight event of kept runs (bench-accuracy --dump) that explains one true event, scored against
 * the truth: whose true hand is within MATCH_M of the point (the picker's, another shopper's, or
 * none). --linked-only pairs only sightings linked to a track (as before unlinked ones could pair).
 * The attribution's own window, margins and gap (edge/fusion/config.ts) unless --gap.
 */
import { parseArgs } from 'node:util';
import { PlateGeometry, pointInPlate } from '../../edge/fusion/attribute.ts';
import { AttributionConfig, FusionConfig } from '../../edge/fusion/config.ts';
import { handPoints } from '../../edge/tracking/hands.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import { diagnose } from './diagnose.ts';
import { loadRun, personsNear } from './diagnose-load.ts';

/** A point this close (m) to a true hand is that hand. */
const MATCH_M = 0.15;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    scenario: { type: 'string', default: 'baseline' },
    'linked-only': { type: 'boolean', default: false },
    gap: { type: 'string' },
  },
});
const config = AttributionConfig.parse({
  ...FusionConfig.parse({}).attribution,
  ...(values.gap ? { pointMaxGapM: Number(values.gap) } : {}),
});
const layout = loadScenario(values.scenario).layout;
const geometry = new PlateGeometry(layout);
const counts = { events: 0, eventsWithPoints: 0, picker: 0, other: 0, none: 0 };
for (const dir of positionals) {
  const run = loadRun(dir);
  const d = diagnose(run, layout, dir);
  const perEvent = new Map<string, number>();
  for (const f of d.findings) if (f.eventId) perEvent.set(f.eventId, (perEvent.get(f.eventId) ?? 0) + 1);
  const finding = new Map(
    d.findings.filter((f) => f.eventId && perEvent.get(f.eventId) === 1).map((f) => [f.eventId!, f]),
  );
  for (const trace of run.resolves) {
    const e = trace.event;
    const f = finding.get(e.eventId);
    if (!f) continue;
    counts.events += 1;
    const inWindow = trace.sightings.filter(
      (s) =>
        s.captureMs >= e.startMs - config.handBeforeMs &&
        s.captureMs <= e.settledMs + config.handAfterMs &&
        (!values['linked-only'] || s.trackId),
    );
    let any = false;
    for (const h of handPoints(inWindow, { maxDtMs: config.pointMaxDtMs, maxGapM: config.pointMaxGapM })) {
      const inside = e.plates.some((p) => {
        const fp = geometry.footprint(p.plateId);
        return fp !== undefined && pointInPlate(h.pointM, fp, config.plateMarginM, config.reachAboveM);
      });
      if (!inside) continue;
      any = true;
      let bestM = Number.POSITIVE_INFINITY;
      let owner: string | null = null;
      for (const p of personsNear(run, h.tMs))
        for (const hand of p.handsM) {
          const m = Math.hypot(hand[0] - h.pointM[0], hand[1] - h.pointM[1], hand[2] - h.pointM[2]);
          if (m < bestM) [bestM, owner] = [m, p.personId];
        }
      if (bestM > MATCH_M) counts.none += 1;
      else if (owner === f.personId) counts.picker += 1;
      else counts.other += 1;
    }
    if (any) counts.eventsWithPoints += 1;
  }
}
process.stdout.write(
  `${JSON.stringify({ linkedOnly: values['linked-only'], gapM: config.pointMaxGapM, ...counts })}\n`,
);
