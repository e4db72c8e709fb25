/**
 * Whose hand holds the item. Where shoppers of two visits both reached into a plate, the rays and
 * points of their hands often cannot tell whose hand was in it (a ray alone has no depth), but the
 * taker's hand comes away holding the item, and a putter's goes in holding it. A holder look reads
 * the hands of the contested tracks, in the frames just after a take (before a put-back) and when
 * they were surely empty, through the held-item model and the classifier: a hand that came away
 * clearly holding the event's product, while the rivals' did not, decides. Pure halves: which tracks are contested, where to
 * look, and what the answer does to the attribution.
 */
import type { HandSighting, LookAnswer, LookRequest, WeightEvent } from '../types.ts';
import type { Attribution } from './attribute.ts';
import type { FusionConfig } from './config.ts';

type HolderConfig = FusionConfig['holder'];

/**
 * The top candidate and the best candidate of each other party (a track on no visit is a party of
 * its own) that stood within an arm's reach of the plates and scored at least `rivalShare` of the
 * top party's score, strongest first, at most `maxTracks` in all; null when no other party comes
 * near.
 */
export function contestedTracks(
  who: Attribution,
  visitOf: (trackId: string) => string | null,
  config: Pick<HolderConfig, 'rivalShare' | 'maxTracks'>,
): string[] | null {
  const top = who.candidates[0];
  if (!top) return null;
  const party = (id: string) => visitOf(id) ?? `track:${id}`;
  const ours = party(top.trackId);
  let oursScore = 0;
  const best = new Map<string, Attribution['candidates'][number]>();
  for (const c of who.candidates) {
    const p = party(c.trackId);
    if (p === ours) oursScore += c.score;
    // One that never came within reach did not take from the plates, whatever its hand holds (a
    // bystander with a product of their own, or a look-alike: baseline seed 10, 1.5 m from the plate).
    else if (c.inReach && (best.get(p)?.score ?? -1) < c.score) best.set(p, c);
  }
  const rivals = [...best.values()]
    .filter((c) => c.score >= config.rivalShare * oursScore)
    .sort((a, b) => b.score - a.score)
    .slice(0, config.maxTracks - 1);
  return rivals.length > 0 ? [top.trackId, ...rivals.map((c) => c.trackId)] : null;
}

/** A put-back's hand is empty from this long (ms) after the shelf moved (it lets go as it does). */
const PUT_EMPTY_AFTER_MS = 300;
/** A take's hand is still on its way in until this long (ms) before the shelf moved. */
const TAKE_EMPTY_UNTIL_MS = 150;

/**
 * When a hand holds the item and when it is empty: a take's comes away holding it (from
 * `takeFromMs` before it settled to `takeToMs` after) and went in empty (`emptyFromMs` before the
 * shelf moved, until just before); a put-back's goes in holding it (`putFromMs` before the shelf
 * moved) and comes away empty.
 */
export function holderWindows(
  e: WeightEvent,
  config: Pick<HolderConfig, 'takeFromMs' | 'takeToMs' | 'putFromMs' | 'emptyFromMs'>,
): { holding: [number, number]; empty: [number, number] } {
  return e.deltaG < 0
    ? {
        holding: [e.settledMs - config.takeFromMs, e.settledMs + config.takeToMs],
        empty: [e.startMs - config.emptyFromMs, e.startMs - TAKE_EMPTY_UNTIL_MS],
      }
    : {
        holding: [e.startMs - config.putFromMs, e.startMs],
        empty: [e.startMs + PUT_EMPTY_AFTER_MS, e.settledMs + config.takeToMs],
      };
}

/**
 * The holder look for an event: each contested track's hand sightings in both windows, spread in
 * time (`spreadInTime`), at most `viewsPerTrack` holding and `emptyViews` empty. Null when no
 * contested track's hand was seen while the item was surely held.
 */
export function holderRequest(
  e: WeightEvent,
  trackIds: readonly string[],
  candidates: readonly string[],
  sightings: readonly HandSighting[],
  nowMs: number,
  config: HolderConfig & { waitMs: number },
  /** How far (m, on the floor) a sighting's hand is from the event's plates; none: all alike. */
  toPlatesM?: (s: HandSighting) => number,
): LookRequest | null {
  const { holding, empty } = holderWindows(e, config);
  const views: LookRequest['views'] = [];
  const pick = (trackId: string, [fromMs, toMs]: [number, number], most: number) => {
    const own = sightings.filter(
      (s) =>
        s.trackId === trackId &&
        s.bboxPx !== undefined &&
        s.frameIndex !== undefined &&
        s.captureMs >= fromMs &&
        s.captureMs <= toMs,
    );
    const reaching = toPlatesM && config.viewNearM > 0;
    const chosen = spreadInTime(reaching ? reachingHand(own, toPlatesM, config.viewNearM) : own, most);
    for (const s of chosen)
      views.push({
        cameraId: s.cameraId,
        frameIndex: s.frameIndex!,
        captureMs: s.captureMs,
        bboxPx: { ...s.bboxPx! },
        trackId,
      });
    return chosen.length;
  };
  let held = 0;
  for (const trackId of trackIds) {
    held += pick(trackId, holding, config.viewsPerTrack);
    pick(trackId, empty, config.emptyViews);
  }
  if (held === 0) return null;
  return {
    eventId: e.eventId,
    shelfId: e.shelfId,
    plateIds: e.plates.map((p) => p.plateId),
    direction: e.deltaG < 0 ? 'take' : 'put',
    purpose: 'holder',
    candidates: [...candidates],
    views,
    askedMs: nowMs,
    deadlineMs: nowMs + config.waitMs,
  };
}

/**
 * The sightings of the hand that went to the plates, not of the other: per frame, the hand nearest
 * the plates, and only those within `nearM` of them (unless none is). A track's two hands are both
 * seen in the window, and its other hand hangs at its side, empty: on baseline seed 6 four of a
 * taker's five views were of that hand, while the one carrying two tins of tuna away went unread,
 * and another visit was charged.
 */
function reachingHand(
  sightings: readonly HandSighting[],
  toPlatesM: (s: HandSighting) => number,
  nearM: number,
): HandSighting[] {
  const byFrame = new Map<string, { s: HandSighting; m: number }>();
  for (const s of sightings) {
    const key = `${s.cameraId}#${s.frameIndex}`;
    const m = toPlatesM(s);
    const had = byFrame.get(key);
    if (!had || m < had.m) byFrame.set(key, { s, m });
  }
  const near = [...byFrame.values()].filter((x) => x.m <= nearM).map((x) => x.s);
  return near.length > 0 ? near : [...byFrame.values()].map((x) => x.s);
}

/**
 * At most `most` sightings, one per frame, spread over the window: the best-scored first, then
 * each next the one farthest in time from those chosen (best-scored among equals): the item in a
 * hand shows best away from the shelf, where the shelf's own stock does not crowd it, and the best
 * sightings bunch at the plate.
 */
function spreadInTime(sightings: readonly HandSighting[], most: number): HandSighting[] {
  const byFrame = new Map<string, HandSighting>();
  for (const s of sightings) {
    const key = `${s.cameraId}#${s.frameIndex}`;
    const had = byFrame.get(key);
    if (!had || s.score > had.score) byFrame.set(key, s);
  }
  const left = [...byFrame.values()].sort(
    (a, b) => b.score - a.score || a.captureMs - b.captureMs || a.cameraId.localeCompare(b.cameraId),
  );
  const chosen: HandSighting[] = [];
  while (chosen.length < most && left.length > 0) {
    let at = 0;
    let far = -1;
    for (const [i, s] of left.entries()) {
      const gap =
        chosen.length === 0 ? 0 : Math.min(...chosen.map((c) => Math.abs(c.captureMs - s.captureMs)));
      if (gap > far) {
        far = gap;
        at = i;
      }
    }
    chosen.push(left.splice(at, 1)[0]!);
  }
  return chosen;
}

export interface HolderVerdict {
  /** The track whose hand holds the product; null when the look could not tell. */
  trackId: string | null;
  /**
   * Per contested track: its best holding view's item score × the classifier's share on the
   * candidates, less the same while its hand was surely empty (0, at a take, for a track busy with
   * its own take).
   */
  evidence: Record<string, number>;
  /**
   * Per contested track, what its views read: the best holding and the best empty view (item score
   * × share on the candidates) and how many of each the answer had. The trace keeps it, so a kept
   * run tells a hand never seen holding from one seen holding before and after.
   */
  seen?: Record<string, { held: number; empty: number; heldViews: number; emptyViews: number }>;
}

/**
 * What the look saw. A track's evidence is what its hand held while the item was surely in the
 * taker's (putter's) hand, less what it held while that hand was surely empty: a bystander
 * inspecting a product of their own holds it in both; and, for a take, none for a track that has
 * just made a take of its own (its hand holds that: baseline seed 9, a shopper who had just taken
 * candy was given another's four packs of nuts). Not for a put-back: what is put back was often
 * taken seconds before by the same hand, which the rule then silenced (baseline seed 5: both
 * contested put-backs whose putter's hand alone held the item), and a bystander still holding a
 * take of their own holds it after the put-back too, where it is subtracted. The holder is the
 * track whose evidence reaches `minEvidence` while every other's is at most `rivalRatio` of it;
 * both holding it (two shoppers taking the same product) or neither decides nothing.
 */
export function holderVerdict(
  answer: LookAnswer | null,
  e: WeightEvent,
  trackIds: readonly string[],
  config: Pick<
    HolderConfig,
    'minEvidence' | 'rivalRatio' | 'takeFromMs' | 'takeToMs' | 'putFromMs' | 'emptyFromMs'
  >,
  /** Tracks that made a take of their own just before: what their hand holds is that (takes only). */
  busy: ReadonlySet<string> = new Set(),
): HolderVerdict {
  const silenced = e.deltaG < 0 ? busy : new Set<string>();
  const { holding, empty } = holderWindows(e, config);
  const within = (t: number, [a, b]: [number, number]) => t >= a && t <= b;
  const seen: NonNullable<HolderVerdict['seen']> = Object.fromEntries(
    trackIds.map((id) => [id, { held: 0, empty: 0, heldViews: 0, emptyViews: 0 }]),
  );
  for (const v of answer?.views ?? []) {
    const s = v.trackId === undefined ? undefined : seen[v.trackId];
    if (!s) continue;
    const x = v.itemScore * v.candidateMass;
    if (within(v.captureMs, holding)) {
      s.held = Math.max(s.held, x);
      s.heldViews += 1;
    } else if (within(v.captureMs, empty)) {
      s.empty = Math.max(s.empty, x);
      s.emptyViews += 1;
    }
  }
  const evidence: Record<string, number> = Object.fromEntries(
    trackIds.map((id) => [id, silenced.has(id) ? 0 : Math.max(0, seen[id]!.held - seen[id]!.empty)]),
  );
  const ranked = [...trackIds].sort((a, b) => evidence[b]! - evidence[a]!);
  const best = ranked[0];
  const next = ranked[1] !== undefined ? evidence[ranked[1]]! : 0;
  const holds =
    best !== undefined &&
    evidence[best]! >= config.minEvidence &&
    next <= config.rivalRatio * evidence[best]!;
  return { trackId: holds ? best! : null, evidence, seen };
}

/**
 * The attribution once the look found the holder: its candidate first, scored so its party holds
 * `share` of the belief against the best candidate of any other party, and decided by hand. A
 * holder not among the candidates changes nothing.
 */
export function withHolder(
  who: Attribution,
  holder: string,
  visitOf: (trackId: string) => string | null,
  config: Pick<HolderConfig, 'share'>,
): Attribution {
  const found = who.candidates.find((c) => c.trackId === holder);
  if (!found) return who;
  const party = (id: string) => visitOf(id) ?? `track:${id}`;
  const ours = party(holder);
  let theirs = 0;
  for (const c of who.candidates) if (party(c.trackId) !== ours) theirs = Math.max(theirs, c.score);
  const score = Math.max(found.score, (config.share / (1 - config.share)) * theirs);
  const candidates = [{ ...found, score }, ...who.candidates.filter((c) => c !== found)];
  return { candidates, confidence: Math.max(who.confidence, config.share), method: 'hand' };
}

/**
 * Whether the track a take is given to (the attribution's top) holds it now, so that its hand is
 * no evidence at the next take (`ownTakeMs`): with `ownTakeTopOnly`, only when it scored highest of
 * all candidates, not when it was put on top as the best of its party.
 */
export function ownTake(who: Attribution, config: Pick<HolderConfig, 'ownTakeTopOnly'>): boolean {
  const [top, ...rest] = who.candidates;
  if (!top) return false;
  return !config.ownTakeTopOnly || rest.every((c) => c.score <= top.score);
}

/** The line's evidence from a holder look, e.g. `holder:t4:0.62/0.05`. */
export function holderEvidence(v: HolderVerdict): string | null {
  if (!v.trackId) return null;
  const others = Object.entries(v.evidence)
    .filter(([id]) => id !== v.trackId)
    .map(([, x]) => x.toFixed(2));
  return `holder:${v.trackId}:${v.evidence[v.trackId]!.toFixed(2)}/${others.join('/')}`;
}
