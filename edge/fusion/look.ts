/**
 * The second look's pure halves: where to look for a weight event (which hand sightings, in which
 * frames), and what its answer does to the weight's reading. The look itself (models, main-stream
 * reads) is a SecondLook stage the loop runs; the fusion only asks and, later, reads the answer.
 */
import type { HandSighting, LookAnswer, LookRequest, WeightEvent, WeightHypothesis } from '../types.ts';
import type { PlateGeometry } from './attribute.ts';
import type { FusionConfig } from './config.ts';

type LookConfig = Pick<
  FusionConfig,
  'lookWaitMs' | 'lookViews' | 'lookMinCandidateMass' | 'lookFlagConfidence' | 'lookDecideP' | 'attribution'
>;

/**
 * The request for an event: the attributed track's hand sightings around it (any hand when nobody
 * was attributed), those whose ray passes through the event's plates first, then those nearest the
 * moment the item is surely in the hand (a put-back before the shelf moved, a take as it settled);
 * one view per frame, at most `lookViews`. Null when no sighting can be looked at.
 */
export function lookRequest(
  e: WeightEvent,
  candidates: readonly string[],
  trackId: string | null,
  sightings: readonly HandSighting[],
  geometry: PlateGeometry,
  nowMs: number,
  config: LookConfig,
): LookRequest | null {
  const direction = e.deltaG < 0 ? 'take' : 'put';
  const atMs = direction === 'put' ? e.startMs : e.settledMs;
  const { plateMarginM, reachAboveM } = config.attribution;
  const footprints = e.plates.flatMap((p) => geometry.footprint(p.plateId) ?? []);
  const usable = sightings.filter(
    (s) => s.bboxPx !== undefined && s.frameIndex !== undefined && (!trackId || s.trackId === trackId),
  );
  const ranked = usable
    .map((s) => ({
      s,
      inVolume: footprints.some((f) => geometry.reaches(s, f, plateMarginM, reachAboveM)),
      offMs: Math.abs(s.captureMs - atMs),
    }))
    // A hand seen elsewhere (the other hand, a hand in a basket) is no view of the item.
    .filter((r) => r.inVolume || trackId !== null)
    .sort(
      (a, b) =>
        Number(b.inVolume) - Number(a.inVolume) ||
        a.offMs - b.offMs ||
        b.s.score - a.s.score ||
        a.s.cameraId.localeCompare(b.s.cameraId),
    );
  const views: LookRequest['views'] = [];
  const frames = new Set<string>();
  for (const { s } of ranked) {
    const key = `${s.cameraId}#${s.frameIndex}`;
    if (frames.has(key)) continue;
    frames.add(key);
    views.push({
      cameraId: s.cameraId,
      frameIndex: s.frameIndex!,
      captureMs: s.captureMs,
      bboxPx: { ...s.bboxPx! },
    });
    if (views.length >= config.lookViews) break;
  }
  if (views.length === 0) return null;
  return {
    eventId: e.eventId,
    shelfId: e.shelfId,
    plateIds: e.plates.map((p) => p.plateId),
    direction,
    candidates: [...candidates],
    views,
    askedMs: nowMs,
    deadlineMs: nowMs + config.lookWaitMs,
  };
}

export type LookOutcome =
  /** No answer (nothing seen, or too late): the weights decide alone, as before. */
  | 'none'
  /** The look agrees with the weight's reading. */
  | 'confirmed'
  /** The look chose another candidate: its reading replaces the weight's. */
  | 'changed'
  /** The classifier knows no such product: flagged for review, never guessed. */
  | 'unknown'
  /** The look saw a product, but none of the candidates: the reading stands, for review. */
  | 'other'
  /** The look could not choose between the candidates: the weights' reading stands as it was. */
  | 'undecided';

/** A look that chose (confirmed or changed the reading) settles the weights' doubt; no other does. */
export function lookSettles(outcome: LookOutcome): boolean {
  return outcome === 'confirmed' || outcome === 'changed';
}

export interface LookedReading {
  reading: WeightHypothesis;
  /** Multiplies the attribution's confidence in the line. */
  probability: number;
  /** Caps the line's confidence (below reviewBelow for a flagged line); 1 when nothing is flagged. */
  cap: number;
  outcome: LookOutcome;
  /** The line's evidence from the look, e.g. `look:confirmed:0.93`. */
  evidence: string | null;
}

/**
 * A reading with the look's evidence. The weights say the event is one of the candidates (with the
 * probability of all their readings together); among them, the look decides: near-equal weights
 * carry no information the look lacks, and the weights' home prior (a put-back goes back where it
 * came from) is what the look replaces.
 */
export function withLook(
  hypotheses: readonly WeightHypothesis[],
  candidates: readonly string[],
  answer: LookAnswer | null,
  config: LookConfig,
  /** A take read from the plates' own products with no doubt beyond look-alike weights. */
  weightsVouch = false,
): LookedReading {
  const best = hypotheses[0]!;
  const single = (h: WeightHypothesis) =>
    h.lines.length === 1 && h.lines[0]!.grams === undefined ? h.lines[0]! : null;
  if (!answer)
    return { reading: best, probability: best.probability, cap: 1, outcome: 'none', evidence: null };
  const seen = answer.looked.map((l) => `${l.cameraId}#${l.frameIndex}`).join(',');
  // Unknown to the classifier, yet the weights read a take from a plate's own stock at its weight:
  // the crop was poor, not the product (a rejected can of beans sent a right line to review on a
  // kept baseline run). An item put down, or a reading the weights doubt, may be foreign: flagged.
  if (answer.unknown)
    return {
      reading: best,
      probability: best.probability,
      cap: weightsVouch ? 1 : config.lookFlagConfidence,
      outcome: weightsVouch ? 'other' : 'unknown',
      evidence: `look:unknown:${seen}`,
    };
  if (answer.candidateMass < config.lookMinCandidateMass) {
    // Saw something else (another product, the wrong thing in the hand): it decides nothing, and
    // flags nothing either. Flagged, 7 lines of 4 baseline runs went to review that the weights
    // had no doubt about (bench:accuracy, seeds 1-4, 5 min: review rate 0.32).
    const named = answer.looked.find((l) => l.sku !== null)?.sku ?? 'none';
    return {
      reading: best,
      probability: best.probability,
      cap: 1,
      outcome: 'other',
      evidence: `look:other:${named}`,
    };
  }
  const group = new Set(candidates);
  const weightP = Math.min(
    1,
    hypotheses.reduce((s, h) => {
      const l = single(h);
      return l && group.has(l.sku) ? s + h.probability : s;
    }, 0),
  );
  let chosen = candidates[0]!;
  for (const c of candidates)
    if ((answer.probabilities[c] ?? 0) > (answer.probabilities[chosen] ?? 0)) chosen = c;
  const lookP = answer.probabilities[chosen] ?? 0;
  const line = single(best)!;
  if (lookP < config.lookDecideP)
    return {
      reading: best,
      probability: best.probability,
      cap: 1,
      outcome: 'undecided',
      evidence: `look:undecided:${chosen}:${lookP.toFixed(2)}`,
    };
  const reading =
    chosen === line.sku
      ? best
      : (hypotheses.find((h) => single(h)?.sku === chosen) ?? { ...best, lines: [{ ...line, sku: chosen }] });
  const outcome = chosen === line.sku ? 'confirmed' : 'changed';
  return {
    reading,
    probability: weightP * lookP,
    cap: 1,
    outcome,
    evidence: `look:${outcome}:${chosen}:${lookP.toFixed(2)}`,
  };
}
