/**
 * Loading one kept accuracy run (bench-accuracy --dump DIR: DIR/{scenario}-{seed}) for diagnosis:
 * the simulator's truth (events, visits, positions with hands) and what the edge did (weight
 * events, timed reports, resolve traces). For benchmarks only (the product never reads truth).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolveTrace } from '../../edge/fusion/outputs.ts';
import type { Report } from '../../edge/stages.ts';
import type { WeightEvent } from '../../edge/types.ts';
import { localVisitId } from '../../edge/visits/book.ts';
import type { Vec2, Vec3 } from '../../proto/layout/schema.ts';
import type { TruthEvent, TruthVisit } from './score.ts';

export interface TruthPerson {
  personId: string;
  visitId?: string;
  floorM: Vec2;
  headM?: Vec3;
  handsM: Vec3[];
}

export interface RunDump {
  dir: string;
  truthEvents: (TruthEvent & { personId?: string; itemIds?: string[] })[];
  truthVisits: (TruthVisit & { memberIds?: string[] })[];
  /** Truth sample times, ascending, and who was where at each. */
  timesMs: number[];
  persons: Map<number, TruthPerson[]>;
  weightEvents: WeightEvent[];
  resolves: ResolveTrace[];
  reports: { tsMs: number; report: Report }[];
  /** Edge visit id → truth visit id. */
  visitOf: (edgeVisitId: string) => string | undefined;
}

/** A JSON Lines file of a kept run, one value per line. */
export const jsonl = <T>(path: string): T[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

export function loadRun(dir: string): RunDump {
  const truthVisits = JSON.parse(
    readFileSync(join(dir, 'truth', 'visits.json'), 'utf8'),
  ) as RunDump['truthVisits'];
  const byEdgeId = new Map(
    truthVisits.flatMap((v) => (v.qr ? [[localVisitId(v.qr), v.visitId] as const] : [])),
  );
  const { timesMs, persons } = readTruthPersons(dir);
  return {
    dir,
    truthEvents: jsonl(join(dir, 'truth', 'events.jsonl')),
    truthVisits,
    timesMs,
    persons,
    weightEvents: jsonl(join(dir, 'edge', 'weight-events.jsonl')),
    resolves: jsonl(join(dir, 'edge', 'resolves.jsonl')),
    reports: jsonl(join(dir, 'edge', 'reports.jsonl')),
    visitOf: (id) => byEdgeId.get(id),
  };
}

/** The truth's positions of a kept run (truth/positions.jsonl), for personsNear. */
export function readTruthPersons(dir: string): Pick<RunDump, 'timesMs' | 'persons'> {
  const persons = new Map<number, TruthPerson[]>();
  for (const l of jsonl<{ tsMs: number; persons: TruthPerson[] }>(join(dir, 'truth', 'positions.jsonl')))
    persons.set(l.tsMs, l.persons);
  return { timesMs: [...persons.keys()].sort((a, b) => a - b), persons };
}

/** Who truly stood where at the truth sample nearest `tsMs`. */
export function personsNear(run: Pick<RunDump, 'timesMs' | 'persons'>, tsMs: number): TruthPerson[] {
  const t = run.timesMs;
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! < tsMs) lo = mid + 1;
    else hi = mid;
  }
  const a = t[lo - 1];
  const b = t[lo];
  const best = a === undefined ? b : b === undefined ? a : tsMs - a <= b - tsMs ? a : b;
  return best === undefined ? [] : (run.persons.get(best) ?? []);
}

/**
 * The true person a track followed over some samples: the one nearest each sample (within 1 m),
 * by majority. Null when it followed nobody.
 */
export function personOfTrack(
  run: Pick<RunDump, 'timesMs' | 'persons'>,
  samples: { tsMs: number; xyM: Vec2 }[],
): string | null {
  const votes = new Map<string, number>();
  for (const s of samples) {
    let best: string | null = null;
    let bestD = 1;
    for (const p of personsNear(run, s.tsMs)) {
      const d = Math.hypot(p.floorM[0] - s.xyM[0], p.floorM[1] - s.xyM[1]);
      if (d < bestD) {
        bestD = d;
        best = p.personId;
      }
    }
    if (best) votes.set(best, (votes.get(best) ?? 0) + 1);
  }
  return [...votes.entries()].sort((x, y) => y[1] - x[1])[0]?.[0] ?? null;
}

/** A ray this close (m) to a true hand is that hand's sighting. */
const HAND_MATCH_M = 0.08;

/** Whose true hand a ray passes within HAND_MATCH_M of (the nearest), and where it was; null if none. */
export function trueHand(
  run: Pick<RunDump, 'timesMs' | 'persons'>,
  s: { captureMs: number; rayOriginM: Vec3; rayDirection: Vec3 },
): { personId: string; handM: Vec3 } | null {
  let bestM = HAND_MATCH_M;
  let found: { personId: string; handM: Vec3 } | null = null;
  for (const p of personsNear(run, s.captureMs))
    for (const h of p.handsM) {
      const m = rayToPointM(s.rayOriginM, s.rayDirection, h);
      if (m <= bestM) [bestM, found] = [m, { personId: p.personId, handM: h }];
    }
  return found;
}

function rayToPointM(o: Vec3, d: Vec3, p: Vec3): number {
  const w = [p[0] - o[0], p[1] - o[1], p[2] - o[2]] as const;
  const t = (w[0] * d[0] + w[1] * d[1] + w[2] * d[2]) / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  return Math.hypot(o[0] + t * d[0] - p[0], o[1] + t * d[1] - p[1], o[2] + t * d[2] - p[2]);
}
