/**
 * npx tsx benchmarks/accuracy/diagnose.ts --scenario NAME DUMP/{scenario}-{seed} ...
 *
 * Why receipts are wrong. For every true pick and put-back of a kept run (bench-accuracy --dump),
 * finds the edge's weight event on the same shelf and what the fusion did with it (its resolve
 * trace), and names the first thing that went wrong:
 *   event-missed       no edge weight event on the shelf near the time
 *   attribution-hand   the top candidate track follows another person; hands decided
 *   attribution-nearest  the same, where nearness to the shelf decided (no hand seen)
 *   nobody             no candidate track at all
 *   binding            the top track follows the right person but is bound to another visit or none
 *   identification     right person, wrong product or quantity
 *   ok-review          right, but sent with a confidence below the review line (or a doubt)
 *   ok
 * With each: the candidates (score, hands, distance, the true person each track followed, its
 * visit) and how far the true person's hand truly was from the plate's volume. Also lists edge
 * events no true event explains and visits not closed. Writes DUMP/.../diagnosis.json per run and
 * prints the counts per cause.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PlateGeometry } from '../../edge/fusion/attribute.ts';
import type { ResolveTrace } from '../../edge/fusion/outputs.ts';
import type { StoreLayout } from '../../proto/layout/schema.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import { loadRun, personOfTrack, personsNear, type RunDump } from './diagnose-load.ts';

/** A true event and an edge event on its shelf this far apart (ms) are the same (as score.ts). */
const MATCH_MS = 3000;
/** Height above a plate (m) that counts as its volume when measuring true hands. */
const REACH_M = 0.3;

export type Cause =
  | 'event-missed'
  | 'attribution-hand'
  | 'attribution-nearest'
  | 'nobody'
  | 'binding'
  | 'identification'
  | 'ok-review'
  | 'ok';

export interface Finding {
  run: string;
  type: string;
  tsMs: number;
  personId?: string;
  visitId?: string;
  plateId?: string;
  sku?: string;
  quantity?: number;
  cause: Cause;
  eventId?: string;
  /** Truth time minus the edge event's start (ms): where in the event the pick truly was. */
  afterStartMs?: number;
  method?: string;
  confidence?: number;
  /** Other true events (of other visits) the same edge event explains. */
  mergedWith?: string[];
  candidates?: {
    trackId: string;
    score: number;
    hands: number;
    distanceM: number;
    person: string | null;
    visit: string | null;
  }[];
  /** Nearest the true person's hand came to the plate's volume around the pick (m). */
  trueHandToPlateM?: number;
  /** The true person's track among those seen, and the truth visit it is bound to. */
  trueTrack?: { trackId: string; visit: string | null } | null;
}

export interface Diagnosis {
  findings: Finding[];
  /** Edge events no true event explains, and the truth visit their lines went to. */
  spurious: { eventId: string; deltaG: number; visit: string | null; lines: ResolveTrace['lines'] }[];
  unclosed: string[];
  counts: Record<string, number>;
}

function handToPlate(run: RunDump, geometry: PlateGeometry, plateId: string, personId: string, tsMs: number) {
  const f = geometry.footprint(plateId);
  if (!f) return Number.NaN;
  let best = Number.POSITIVE_INFINITY;
  for (let t = tsMs - 1500; t <= tsMs + 500; t += 100) {
    const p = personsNear(run, t).find((q) => q.personId === personId);
    for (const h of p?.handsM ?? []) {
      const dx = Math.max(f.minX - h[0], 0, h[0] - f.maxX);
      const dy = Math.max(f.minY - h[1], 0, h[1] - f.maxY);
      const dz = Math.max(f.topZ - h[2], 0, h[2] - (f.topZ + REACH_M));
      best = Math.min(best, Math.hypot(dx, dy, dz));
    }
  }
  return best;
}

export function diagnose(run: RunDump, layout: StoreLayout, label: string): Diagnosis {
  const geometry = new PlateGeometry(layout);
  const shelfOf = new Map(layout.plates.map((p) => [p.id, p.shelfId]));
  const traces = new Map(run.resolves.map((t) => [t.event.eventId, t]));
  const truth = run.truthEvents.filter((e) => (e.type === 'pick' || e.type === 'putback') && e.plateId);
  const matchOf = truth.map((t) => {
    let best: (typeof run.weightEvents)[number] | undefined;
    let bestDt = MATCH_MS;
    for (const e of run.weightEvents) {
      if (e.shelfId !== shelfOf.get(t.plateId!)) continue;
      const dt = t.tsMs < e.startMs ? e.startMs - t.tsMs : t.tsMs > e.settledMs ? t.tsMs - e.settledMs : 0;
      if (
        dt < bestDt ||
        (dt === bestDt && best && Math.abs(e.startMs - t.tsMs) < Math.abs(best.startMs - t.tsMs))
      ) {
        bestDt = dt;
        best = e;
      }
    }
    return best;
  });
  const findings: Finding[] = truth.map((t, i) => {
    const e = matchOf[i];
    const base: Finding = {
      run: label,
      type: t.type,
      tsMs: t.tsMs,
      personId: t.personId,
      visitId: t.visitId,
      plateId: t.plateId,
      sku: t.sku,
      quantity: t.quantity,
      cause: 'event-missed',
    };
    if (!e) return base;
    const trace = traces.get(e.eventId);
    const f: Finding = { ...base, eventId: e.eventId, afterStartMs: t.tsMs - e.startMs };
    const merged = truth.filter((o, j) => j !== i && matchOf[j] === e && o.visitId !== t.visitId);
    if (merged.length > 0) f.mergedWith = merged.map((o) => `${o.visitId}:${o.sku}`);
    if (!trace) return { ...f, cause: 'event-missed' };
    const people = new Map(trace.tracks.map((k) => [k.trackId, k]));
    const personOf = (id: string) => personOfTrack(run, people.get(id)?.samples ?? []);
    f.method = trace.attribution.method;
    f.confidence = trace.confidence;
    f.candidates = trace.attribution.candidates.slice(0, 4).map((c) => {
      const m = people.get(c.trackId)?.member;
      return {
        trackId: c.trackId,
        score: Number(c.score.toFixed(3)),
        hands: Number(c.hands.toFixed(2)),
        distanceM: Number(c.distanceM.toFixed(2)),
        person: personOf(c.trackId),
        visit: m ? (run.visitOf(m.visitId) ?? m.visitId) : null,
      };
    });
    if (t.personId) {
      f.trueHandToPlateM = Number(handToPlate(run, geometry, t.plateId!, t.personId, t.tsMs).toFixed(2));
      const own = trace.tracks.find((k) => personOf(k.trackId) === t.personId);
      f.trueTrack = own
        ? { trackId: own.trackId, visit: own.member ? (run.visitOf(own.member.visitId) ?? null) : null }
        : null;
    }
    const top = trace.attribution.candidates[0];
    // Split by reach: the share that went to the true visit, if one did.
    const reach = trace.reaches?.find((r) => run.visitOf(r.visitId) === t.visitId);
    const gotVisit = reach ? t.visitId : trace.member ? run.visitOf(trace.member.visitId) : undefined;
    const lines = reach?.lines ?? trace.lines;
    if (gotVisit !== t.visitId) {
      if (!top) return { ...f, cause: 'nobody' };
      const followed = personOf(top.trackId);
      if (followed === t.personId) return { ...f, cause: 'binding' };
      return {
        ...f,
        cause: trace.attribution.method === 'hand' ? 'attribution-hand' : 'attribution-nearest',
      };
    }
    // Several picks of one product in one edge event (a party at one shelf) make one line.
    const together = truth
      .filter((o, j) => matchOf[j] === e && o.sku === t.sku)
      .reduce((a, o) => a + (o.quantity ?? 0), 0);
    const identified = lines.some(
      (l) =>
        l.sku === t.sku &&
        (l.quantity === 0 || Math.abs(l.quantity) === t.quantity || Math.abs(l.quantity) === together),
    );
    if (!identified) return { ...f, cause: 'identification' };
    return { ...f, cause: trace.review ? 'ok-review' : 'ok' };
  });
  const explained = new Set(matchOf.filter((e) => e).map((e) => e!.eventId));
  const spurious = run.resolves
    .filter((t) => !explained.has(t.event.eventId))
    .map((t) => ({
      eventId: t.event.eventId,
      deltaG: t.event.deltaG,
      visit: t.member ? (run.visitOf(t.member.visitId) ?? null) : null,
      lines: t.lines,
    }));
  const closed = new Set(
    run.reports.flatMap((r) =>
      r.report.body === 'visit' && r.report.visit.kind === 'VISIT_CLOSED'
        ? [run.visitOf(r.report.visit.visitId)]
        : [],
    ),
  );
  const unclosed = run.truthVisits
    .filter((v) => v.kind === 'shopper' && v.closedMs != null && !closed.has(v.visitId))
    .map((v) => v.visitId);
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.cause] = (counts[f.cause] ?? 0) + 1;
  // Events one weight event explained with another visit's: each is counted under its own cause
  // too, and most are right (the reach split gave each visit its own), so this is not a cause.
  counts['merged-with-other-visit'] = findings.filter((f) => f.mergedWith).length;
  counts['merged-and-not-ok'] = findings.filter((f) => f.mergedWith && !f.cause.startsWith('ok')).length;
  counts['spurious-event'] = spurious.length;
  counts['visit-unclosed'] = unclosed.length;
  return { findings, spurious, unclosed, counts };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      scenario: { type: 'string', default: 'baseline' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const layout = loadScenario(values.scenario).layout;
  const total: Record<string, number> = {};
  for (const dir of positionals) {
    const d = diagnose(loadRun(dir), layout, dir.split('/').at(-1) ?? dir);
    writeFileSync(join(dir, 'diagnosis.json'), `${JSON.stringify(d, null, 1)}\n`);
    for (const [k, v] of Object.entries(d.counts)) total[k] = (total[k] ?? 0) + v;
    if (values.quiet) continue;
    for (const f of d.findings.filter((x) => x.cause !== 'ok')) {
      const cands = (f.candidates ?? [])
        .map(
          (c) => `${c.trackId}(${c.person ?? '?'}/${c.visit ?? '-'} s${c.score} h${c.hands} d${c.distanceM})`,
        )
        .join(' ');
      process.stdout.write(
        `${f.run} ${f.cause.padEnd(19)} ${f.type} ${f.visitId}/${f.personId} ${f.sku}x${f.quantity} ${f.plateId} ` +
          `+${f.afterStartMs ?? '?'}ms ${f.method ?? ''} c${f.confidence?.toFixed(2) ?? '?'} hand→plate ${f.trueHandToPlateM ?? '?'} m ` +
          `own ${f.trueTrack ? `${f.trueTrack.trackId}/${f.trueTrack.visit}` : 'none'}${f.mergedWith ? ` merged ${f.mergedWith}` : ''} | ${cands}\n`,
      );
    }
    for (const s of d.spurious)
      process.stdout.write(
        `${dir} spurious ${s.eventId} ${s.deltaG.toFixed(0)} g → ${s.visit} ${JSON.stringify(s.lines)}\n`,
      );
    if (d.unclosed.length) process.stdout.write(`${dir} unclosed ${d.unclosed.join(' ')}\n`);
  }
  process.stdout.write(`${JSON.stringify(total)}\n`);
}
