/**
 * npx tsx benchmarks/accuracy/replay-attribution.ts [--scenario NAME] [--set key=value ...] DUMP/{scenario}-{seed} ...
 *
 * Attribution alone, in seconds: re-runs edge/fusion/attribute.ts on the inputs the fusion had
 * for each weight event of kept runs (their resolve traces), with the attribution config changed
 * by --set (e.g. --set handWeight=4), and scores who it picks against the truth: the track it
 * picks followed the true person (right), another person (wrong), or nobody (none); and how many of
 * each would go to review (the party's confidence, with the run's own binding, below the fusion's
 * line). Only edge events that explain exactly one true event count. Tracking is as it was in the
 * run and binding is left out, so this measures attribution, not the whole receipt.
 */
import { parseArgs } from 'node:util';
import { attribute, PlateGeometry, partyConfidence } from '../../edge/fusion/attribute.ts';
import { AttributionConfig, FusionConfig } from '../../edge/fusion/config.ts';
import type { ResolveTrace } from '../../edge/fusion/outputs.ts';
import { DEFAULT_HAND_OPTIONS, ownerByReach } from '../../edge/tracking/hands.ts';
import type { HandSighting } from '../../edge/types.ts';
import type { StoreLayout, Vec2 } from '../../proto/layout/schema.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import { diagnose } from './diagnose.ts';
import { loadRun, personOfTrack } from './diagnose-load.ts';
import { parseSets } from './set-args.ts';

/** How far back (ms) the fusion's timeline lends a track's last position (historyMs / 4). */
const LEND_MS = 5000;

export interface ReplayScore {
  events: number;
  right: number;
  wrong: number;
  none: number;
  rightReview: number;
  wrongReview: number;
  /** Wrong and of another visit (not a party member): what a receipt would show. */
  wrongVisit: number;
  wrongVisitReview: number;
  wrongList: string[];
}

/**
 * Hands the run left with no track, given one by reach (edge/tracking/hands.ts `ownerByReach`)
 * from where the trace's tracks stood nearest the sighting's time: what a run with that fallback
 * would have linked, near enough (the fusion gives it the tracks of the frame itself).
 */
export function relinkByReach(trace: ResolveTrace, options = DEFAULT_HAND_OPTIONS): HandSighting[] {
  return trace.sightings.map((s) => {
    if (s.trackId) return s;
    const tracks = trace.tracks.flatMap((t) => {
      let near: { tsMs: number; xyM: Vec2 } | undefined;
      for (const p of t.samples)
        if (!near || Math.abs(p.tsMs - s.captureMs) < Math.abs(near.tsMs - s.captureMs)) near = p;
      return near && Math.abs(near.tsMs - s.captureMs) <= 250
        ? [{ trackId: t.trackId, floorXyM: near.xyM, state: 'confirmed' as const }]
        : [];
    });
    const trackId = ownerByReach(s, tracks, options);
    return trackId ? { ...s, trackId, linkedBy: 'reach' as const } : s;
  });
}

export function replay(trace: ResolveTrace, layout: StoreLayout, config: AttributionConfig, reach = false) {
  const geometry = new PlateGeometry(layout);
  const e = trace.event;
  const from = e.startMs - config.handBeforeMs;
  const byId = new Map(trace.tracks.map((t) => [t.trackId, t]));
  const ids = trace.tracks.filter((t) => t.samples.some((s) => s.tsMs <= e.settledMs)).map((t) => t.trackId);
  const positions = (id: string, a: number, b: number): Vec2[] => {
    const list = byId.get(id)?.samples ?? [];
    const inside = list.filter((s) => s.tsMs >= a && s.tsMs <= b).map((s) => s.xyM);
    if (inside.length > 0) return inside;
    const before = list.filter((s) => s.tsMs < a).at(-1);
    return before && a - before.tsMs < LEND_MS ? [before.xyM] : [];
  };
  const sightings = (reach ? relinkByReach(trace) : trace.sightings).filter(
    (s) => s.captureMs >= from && s.captureMs <= e.settledMs + 1000,
  );
  return attribute(e, geometry, sightings, ids, positions, config);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      scenario: { type: 'string', default: 'baseline' },
      set: { type: 'string', multiple: true, default: [] },
      verbose: { type: 'boolean', default: false },
      /** Give hands the run left with no track one by reach first (see relinkByReach). */
      reach: { type: 'boolean', default: false },
      /** Also replay edge events that explain several true events (merged picks). */
      merged: { type: 'boolean', default: false },
    },
  });
  const overrides = parseSets(values.set);
  const config = AttributionConfig.parse({ ...FusionConfig.parse({}).attribution, ...overrides });
  const reviewBelow = FusionConfig.parse({}).reviewBelow;
  const layout = loadScenario(values.scenario).layout;
  const s: ReplayScore = {
    events: 0,
    right: 0,
    wrong: 0,
    none: 0,
    rightReview: 0,
    wrongReview: 0,
    wrongVisit: 0,
    wrongVisitReview: 0,
    wrongList: [],
  };
  for (const dir of positionals) {
    const run = loadRun(dir);
    const d = diagnose(run, layout, dir);
    const traces = new Map(run.resolves.map((t) => [t.event.eventId, t]));
    const visitOfPerson = new Map(
      run.truthVisits.flatMap((v) => (v.memberIds ?? []).map((p) => [p, v.visitId])),
    );
    const perEvent = new Map<string, number>();
    for (const f of d.findings) if (f.eventId) perEvent.set(f.eventId, (perEvent.get(f.eventId) ?? 0) + 1);
    for (const f of d.findings) {
      const trace = f.eventId ? traces.get(f.eventId) : undefined;
      if (!trace || (perEvent.get(f.eventId!) !== 1 && !values.merged)) continue;
      const who = replay(trace, layout, config, values.reach);
      s.events += 1;
      const top = who.candidates[0];
      // Scored by the person the picked track truly followed: attribution, not binding.
      const samples = top ? trace.tracks.find((t) => t.trackId === top.trackId)?.samples : undefined;
      const person = samples ? personOfTrack(run, samples) : null;
      const visit = person ?? undefined;
      const visitOfTrack = (id: string) =>
        trace.tracks.find((t) => t.trackId === id)?.member?.visitId ?? null;
      const confidence = partyConfidence(who, visitOfTrack, config);
      const review = confidence < reviewBelow;
      if (!visit) s.none += 1;
      else if (visit === f.personId) {
        s.right += 1;
        if (review) s.rightReview += 1;
      } else {
        s.wrong += 1;
        if (review) s.wrongReview += 1;
        const otherVisit = visitOfPerson.get(visit) !== f.visitId;
        if (otherVisit) s.wrongVisit += 1;
        if (otherVisit && review) s.wrongVisitReview += 1;
        s.wrongList.push(
          `${f.eventId} ${f.personId}→${visit}${otherVisit ? ' OTHER-VISIT' : ''} ${who.method} c${confidence.toFixed(2)}`,
        );
      }
      if (values.verbose)
        process.stdout.write(
          `${f.eventId} truth ${f.personId} got ${visit ?? '-'} ${who.method} c${confidence.toFixed(2)} ` +
            `${who.candidates
              .slice(0, 3)
              .map(
                (c) =>
                  `${c.trackId}:${c.score.toFixed(2)}/h${c.hands.toFixed(1)}/p${c.points}/d${c.distanceM.toFixed(2)}`,
              )
              .join(' ')}\n`,
        );
    }
  }
  process.stdout.write(`${JSON.stringify({ config: overrides, ...s }, null, 1)}\n`);
}
