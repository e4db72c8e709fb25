/**
 * One track per person on the floor, fused over every camera by sequential updates: each camera
 * frame, at its capture time, predicts every track to that time, associates that camera's people
 * and corrects the matched tracks (ByteTrack's steps, on the floor plane):
 *   1. high-score observations against every track (lost ones within a gate that grows with the
 *      time lost), by minimum-cost assignment on floor distance plus re-id distance;
 *   2. low-score observations against the live tracks left unmatched, within a tighter gate;
 *   3. high-score observations left over start tentative tracks, but only inside a birth zone
 *      (the entry gate) and away from every live track; a headless person box the image border
 *      cut starts one only there, from its feet (floor.ts);
 *   4. a tentative track at the entry seen twice gets its id and is shown, as entering; one seen
 *      often enough soon enough, once at least whole (a head or box the image border did not cut),
 *      is confirmed; one shown stays while seen; a track unseen by every camera is lost (coasts,
 *      not reported), then ends;
 *   5. tracks that swapped people in a crowd exchange identities back, by appearance (identity.ts).
 * Pure: no clock, no I/O; ids `t1`, `t2`… in the order tracks are first shown, per instance.
 */

import { WalkoutError } from '../../proto/index.ts';
import { insidePolygon } from '../../proto/layout/geometry.ts';
import type { CameraModel } from '../../proto/layout/projection.ts';
import type { Vec2 } from '../../proto/layout/schema.ts';
import type { Stateful } from '../state/fields.ts';
import type { FrameDetections, IdentitySwap, Track } from '../types.ts';
import { assign, FORBIDDEN } from './assign.ts';
import type { TrackerConfig } from './config.ts';
import { type FloorObservation, floorObservations } from './floor.ts';
import { type IdentityConfig, type IdentityView, takeOver } from './identity.ts';
import {
  correct,
  expectedAt,
  type FloorState,
  initialState,
  type KalmanNoise,
  positionAt,
  predict,
} from './kalman.ts';
import { bestSimilarity, remember } from './reid.ts';

interface Internal {
  /** null until shown (showAfterHits) or confirmed. */
  trackId: string | null;
  kf: FloorState;
  tentative: boolean;
  /** Started outside a birth zone: may only become a lost track again, never a new one. */
  orphan: boolean;
  /** The lost track this orphan was handed to (it is dropped at the end of the update). */
  adoptedBy: Internal | null;
  firstSeenMs: number;
  firstXyM: Vec2;
  lastSeenMs: number;
  lastSeenXyM: Vec2;
  hits: number;
  /**
   * Seen once placed from a whole view (a head, or a headless box, the image border did not cut): a
   * track of the entry is confirmed only then. Cut heads of a shopper waiting at the entry, seen
   * from the next camera, grew a track of no one 0.9 m away, and the crossing bound it instead of
   * the shopper.
   */
  wholeSeen: boolean;
  bank: Float32Array[];
  /** Clean views of its first seconds (identity.ts), and its latest; when it was last judged. */
  gallery: Float32Array[];
  recent: { tMs: number; embedding: Float32Array }[];
  judgedMs: number;
  /** When its clean views last looked like its own gallery (it surely followed its person then). */
  selfMs?: number;
  /**
   * When its person went out through the exit (depart()): it follows them out of the cameras'
   * view, on the map only, as no one's (departFollowMs).
   */
  departedMs?: number;
  /** Readings of where its heads' size places the person against the head plane (crouchPlaceDropM). */
  crouch?: { readings: { tMs: number; offsetM: Vec2 }[]; offsetM: Vec2; atMs: number };
}

export interface TrackerUpdate {
  /** Confirmed tracks, live and lost, after this frame. */
  tracks: Track[];
  /** Per detection of the frame: the confirmed track its person or head was assigned to. */
  personTrack: (string | null)[];
  /** Confirmed in this frame. */
  born: Track[];
  /** Ended in this frame (unseen for too long). */
  ended: Track[];
  /** Identities exchanged back in this frame (identity.ts): the two had swapped people meanwhile. */
  swaps: IdentitySwap[];
  /** Tracks of people who went out through the exit, followed until out of view (depart()). */
  departing: Track[];
  /** Tentative tracks at the entry already shown (showAfterHits): on the map, not yet anyone's. */
  entering: Track[];
}

export interface UpdateOptions {
  /** false: no new tentative track from this frame (e.g. no one is expected at the entry). Default true. */
  allowBirths?: boolean;
}

export class FloorTracker implements Stateful {
  readonly #config: Readonly<TrackerConfig>;
  readonly #cameras: ReadonlyMap<string, CameraModel>;
  readonly #birthZones: readonly Vec2[][];
  #live: Internal[] = [];
  #serial = 0;
  readonly #noise: KalmanNoise;
  readonly #limits: { maxSpeedMps: number; headDeltaRangeM: readonly [number, number] };
  readonly #identity: IdentityConfig;

  constructor(options: {
    config: Readonly<TrackerConfig>;
    cameras: readonly CameraModel[];
    birthZones: readonly Vec2[][];
  }) {
    this.#config = options.config;
    this.#cameras = new Map(options.cameras.map((c) => [c.id, c]));
    this.#birthZones = options.birthZones;
    this.#noise = { accel: options.config.accelNoiseMps2, headWalk: options.config.headWalkM2ps };
    this.#limits = {
      maxSpeedMps: options.config.maxSpeedMps,
      headDeltaRangeM: [options.config.headDeltaMinM, options.config.headDeltaMaxM],
    };
    this.#identity = {
      minRecent: options.config.identityMinViews,
      swapMargin: options.config.identitySwapMargin,
      unlikeMax: options.config.identityUnlikeMax,
      takeLost: options.config.identityTakeLost,
    };
  }

  update(frame: FrameDetections, options: UpdateOptions = {}): TrackerUpdate {
    const cfg = this.#config;
    const tMs = frame.captureMs;
    const personTrack: (string | null)[] = frame.detections.map(() => null);
    const camera = this.#cameras.get(frame.cameraId);
    const obs = camera ? floorObservations(frame, camera, cfg, cfg.lowScore) : [];

    for (const t of this.#live) {
      // A lost track stops extrapolating: an unseen person more likely stopped than walked on.
      if (tMs - t.lastSeenMs > cfg.coastMs) t.kf.velocityMps = [0, 0];
      predict(t.kf, tMs, this.#noise);
    }

    const matched = new Map<Internal, FloorObservation>();
    const high = obs.filter((o) => o.score >= cfg.highScore);
    const low = obs.filter((o) => o.score < cfg.highScore);
    // Stage 1: every track.
    const rest = this.#associate(this.#live, high, tMs, matched, (t) =>
      t.departedMs === undefined ? this.#gateM(t, tMs, cfg.matchGateM) : cfg.lowMatchGateM,
    );
    // Stage 2: live tracks left, low-score observations, tighter gate.
    const liveLeft = this.#live.filter((t) => !matched.has(t) && tMs - t.lastSeenMs <= cfg.lostAfterMs);
    this.#associate(liveLeft, low, tMs, matched, () => cfg.lowMatchGateM);

    for (const [t, o] of matched) this.#correct(t, o, tMs);
    const swaps = cfg.identitySwapMargin > 0 ? this.#judgeIdentities(tMs) : [];
    const born: Track[] = [];
    for (const [t, o] of matched) {
      if (t.tentative && t.hits >= cfg.confirmHits && (t.orphan || t.wholeSeen)) {
        if (t.orphan) this.#adopt(t, tMs);
        else {
          t.tentative = false;
          t.trackId ??= `t${++this.#serial}`;
          born.push(this.#public(t, tMs));
        }
      } else if (this.#shows(t)) t.trackId ??= `t${++this.#serial}`;
      const owner = t.adoptedBy ?? t;
      if (owner.trackId && !owner.tentative && owner.departedMs === undefined)
        for (const i of o.detIndexes) personTrack[i] = owner.trackId;
    }

    // Stage 3: an observation no track explains starts a tentative track: inside a birth zone a
    // candidate person, elsewhere an orphan that, once seen steadily, is handed to a lost track.
    for (const o of rest) {
      // A cut box may start a track at the entry only, from its feet (its centre lies well inside).
      const at = o.cut ? o.feetXyM : o.floorXyM;
      if (!at) continue;
      if (this.#live.some((t) => dist(t.kf.xyM, at) < cfg.birthSeparationM)) continue;
      const inZone = this.#birthZones.some((z) => insidePolygon(z, at[0], at[1]));
      if (o.cut && !inZone) continue;
      if (inZone ? options.allowBirths === false : !this.#live.some((t) => this.#lost(t, tMs))) continue;
      this.#live.push({
        trackId: null,
        kf: this.#initial({ ...o, floorXyM: at }, tMs),
        tentative: true,
        orphan: !inZone,
        adoptedBy: null,
        firstSeenMs: tMs,
        firstXyM: at,
        lastSeenMs: tMs,
        lastSeenXyM: at,
        hits: 1,
        wholeSeen: !o.cut && !o.headCut,
        bank: o.embedding ? [o.embedding] : [],
        gallery: [],
        recent: [],
        judgedMs: tMs,
      });
    }

    // Step 4: tentative tracks that took too long vanish; unseen tracks end.
    const ended: Track[] = [];
    this.#live = this.#live.filter((t) => {
      if (t.adoptedBy) return false;
      if (t.tentative) {
        // A tentative track that runs into a confirmed one was a second view of that person. (Kept
        // when seen steadily, queued shoppers' tracks were confirmed behind the line and the
        // crossings bound them to the wrong visits: baseline seeds 5 and 13.)
        const shadow = this.#live.some(
          (u) => !u.tentative && dist(u.kf.xyM, t.kf.xyM) < cfg.birthSeparationM,
        );
        if (shadow) return false;
        // Once shown it stays while seen: a shopper held at the scanner with their head cut by the
        // image border keeps one id (dropped at confirmWithinMs, their next track was a new id).
        if (t.trackId !== null) return tMs - t.lastSeenMs <= cfg.lostAfterMs;
        return tMs - t.firstSeenMs <= cfg.confirmWithinMs;
      }
      // Gone out of view (or out for long enough): its visit already ended it.
      if (t.departedMs !== undefined)
        return tMs - t.lastSeenMs <= cfg.lostAfterMs && tMs - t.departedMs <= cfg.departFollowMs;
      if (tMs - t.lastSeenMs <= cfg.endAfterMs) return true;
      ended.push(this.#public(t, tMs));
      return false;
    });
    return {
      tracks: this.tracks(),
      personTrack,
      born,
      ended,
      swaps,
      departing: this.departing(),
      entering: this.entering(),
    };
  }

  /** Every track (tentative ones too) with its filter and re-id bank, and the id counter. */
  state(): unknown {
    return { live: this.#live, serial: this.#serial };
  }

  restore(state: unknown): void {
    const s = state as { live?: unknown; serial?: unknown };
    if (!Array.isArray(s?.live) || typeof s.serial !== 'number')
      throw new WalkoutError('CHECKPOINT_INVALID', 'floor tracker: no tracks or id counter saved');
    this.#live = s.live as Internal[];
    this.#serial = s.serial;
  }

  /** Ends a track (the visit logic: it left through the exit). Returns it, or null if unknown. */
  end(trackId: string, tsMs: number): Track | null {
    const i = this.#live.findIndex((t) => t.trackId === trackId && t.departedMs === undefined);
    if (i < 0) return null;
    const [t] = this.#live.splice(i, 1);
    return this.#public(t!, tsMs);
  }

  /**
   * Ends a track whose person went out through the exit, as end() does, but keeps following them
   * while they stay in view (departFollowMs; 0: end()): a departing track, matched only within
   * lowMatchGateM, on the map as no one's, given no hand and no identity. Out past the exit line
   * a shopper is in view for about two more seconds, and while no track explained them their
   * detections could only start tracks of no one; on kept baseline runs those seconds were a third
   * of the floor IDF1 lost (benchmarks/accuracy/idf1-losses.ts).
   */
  depart(trackId: string, tsMs: number): Track | null {
    if (this.#config.departFollowMs <= 0) return this.end(trackId, tsMs);
    const t = this.#live.find((u) => u.trackId === trackId && u.departedMs === undefined);
    if (!t) return null;
    t.departedMs = tsMs;
    return this.#public(t, tsMs);
  }

  /** Confirmed tracks, as of their last update. */
  tracks(): Track[] {
    return this.#staying().map((t) => this.#public(t, t.kf.tMs));
  }

  /** Confirmed tracks with their positions carried to `tsMs` (for snapshots at a fixed rate); changes nothing. */
  tracksAt(tsMs: number): Track[] {
    return this.#staying().map((t) => this.#public(t, tsMs));
  }

  /** Tracks of people who left through the exit, still followed (depart()); carried to `tsMs` if given. */
  departing(tsMs?: number): Track[] {
    return this.#live.filter((t) => t.departedMs !== undefined).map((t) => this.#public(t, tsMs ?? t.kf.tMs));
  }

  /**
   * Tentative tracks at the entry already shown (showAfterHits); carried to `tsMs` if given. A
   * shopper at the entry is seen, by one camera and with their head cut by its border, for about a
   * second before a whole head confirms their track: on baseline seeds 1 and 10 a track was
   * confirmed a mean 1.6 s after its person appeared, and first seen 0.9 s after (a scratch
   * measurement of stop 40, no kept command).
   */
  entering(tsMs?: number): Track[] {
    return this.#live
      .filter((t) => t.tentative && t.trackId !== null)
      .map((t) => this.#public(t, tsMs ?? t.kf.tMs));
  }

  /** What the map shows at `tsMs`: entering, confirmed (live and lost) and departing tracks. */
  shown(tsMs: number): Track[] {
    return [...this.entering(tsMs), ...this.tracksAt(tsMs), ...this.departing(tsMs)];
  }

  #shows(t: Internal): boolean {
    const n = this.#config.showAfterHits;
    return t.tentative && !t.orphan && n > 0 && t.hits >= n;
  }

  #staying(): Internal[] {
    return this.#live.filter((t) => !t.tentative && t.departedMs === undefined);
  }

  #initial(o: FloorObservation, tMs: number): FloorState {
    const cfg = this.#config;
    // The observation's own head-plane error is unknown: widen its position by the head prior.
    const g = this.#grad(o);
    const sigmaM = Math.hypot(o.sigmaM, cfg.headSigmaM * Math.hypot(g[0], g[1]));
    return initialState(o.floorXyM, sigmaM, cfg.maxSpeedMps / 2, cfg.headSigmaM, tMs);
  }

  /** The observation's head gradient, or none when head heights are not estimated (every head at the plane). */
  #grad(o: FloorObservation): Vec2 {
    return this.#config.estimateHeadHeight ? o.gradM : [0, 0];
  }

  #lost(t: Internal, tMs: number): boolean {
    return !t.tentative && t.departedMs === undefined && tMs - t.lastSeenMs > this.#config.lostAfterMs;
  }

  /**
   * A steadily seen orphan is someone whose track was lost: it goes to the lost track that could
   * have walked there in the time lost (at `reacquireGrowthMps`) and, with embeddings, looks most
   * alike; else to the nearest such. None: the orphan stays tentative and times out.
   */
  #adopt(orphan: Internal, tMs: number): void {
    const cfg = this.#config;
    let best: Internal | null = null;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const t of this.#live) {
      if (t === orphan || !this.#lost(t, tMs)) continue;
      const d = dist(t.lastSeenXyM, orphan.kf.xyM);
      const reachM =
        cfg.reacquireGateM + (cfg.reacquireGrowthMps * (orphan.firstSeenMs - t.lastSeenMs)) / 1000;
      if (d > Math.max(reachM, cfg.reacquireGateM)) continue;
      let sim: number | null = null;
      for (const e of orphan.bank) {
        const s = bestSimilarity(t.bank, e);
        if (s !== null && (sim === null || s > sim)) sim = s;
      }
      if (sim !== null && sim < cfg.reidMinSimilarity) continue;
      const score = (sim ?? 0) * cfg.reidWeightM - d / Math.max(reachM, 1e-9);
      if (score > bestScore) {
        best = t;
        bestScore = score;
      }
    }
    if (!best) return;
    best.kf = { ...orphan.kf, xyM: [orphan.kf.xyM[0], orphan.kf.xyM[1]] };
    best.lastSeenMs = orphan.lastSeenMs;
    best.lastSeenXyM = orphan.lastSeenXyM;
    for (const e of orphan.bank) remember(best.bank, e, cfg.reidBankSize);
    orphan.adoptedBy = best;
  }

  /**
   * Tracks that took over another's person in a crowd give it back (identity.ts): each confirmed
   * track is judged at most every `JUDGE_EVERY_MS`, on its recent clean views.
   */
  #judgeIdentities(tMs: number): IdentitySwap[] {
    const cfg = this.#config;
    const swaps: IdentitySwap[] = [];
    const confirmed = this.#staying().filter((t) => t.gallery.length >= cfg.identityMinViews);
    // Made once a frame, when some track is due, and again only after a swap changed them.
    let views: IdentityView[] | null = null;
    for (const [i, t] of confirmed.entries()) {
      if (tMs - t.judgedMs < JUDGE_EVERY_MS) continue;
      t.judgedMs = tMs;
      views ??= confirmed.map((u) => ({
        gallery: u.gallery,
        recent: u.recent.filter((r) => r.tMs >= tMs - cfg.identityRecentMs),
        lost: this.#lost(u, tMs),
      }));
      // The latest clean view that looks like its own gallery: it followed its own person then.
      for (const r of views[i]!.recent)
        if (r.tMs > (t.selfMs ?? 0) && (bestSimilarity(t.gallery, r.embedding) ?? 0) >= cfg.identitySelfMin)
          t.selfMs = r.tMs;
      const j = takeOver(views, i, this.#identity);
      if (j === null) continue;
      const u = confirmed[j]!;
      // Both followed their own people until the later of the two times each last looked like itself.
      const sinceMs = Math.max(t.selfMs ?? t.firstSeenMs, u.selfMs ?? u.firstSeenMs);
      swapIdentities(t, u, tMs);
      swaps.push({ trackIds: [t.trackId!, u.trackId!], atMs: tMs, sinceMs });
      views = null;
    }
    return swaps;
  }

  /** A track's gate at `tMs`: the base gate while live; growing with the time lost once lost. */
  #gateM(t: Internal, tMs: number, baseM: number): number {
    const cfg = this.#config;
    const lostMs = tMs - t.lastSeenMs;
    if (lostMs <= cfg.lostAfterMs) return baseM;
    return Math.min(cfg.reacquireMaxM, cfg.reacquireGateM + (cfg.reacquireGrowthMps * lostMs) / 1000);
  }

  /** Assigns observations to tracks within gates; returns the observations left unmatched. */
  #associate(
    tracks: readonly Internal[],
    obs: readonly FloorObservation[],
    tMs: number,
    matched: Map<Internal, FloorObservation>,
    gateOf: (t: Internal) => number,
  ): FloorObservation[] {
    const cfg = this.#config;
    const free = tracks.filter((t) => !matched.has(t));
    const cost = free.map((t) => {
      const gate = gateOf(t);
      const lost = tMs - t.lastSeenMs > cfg.lostAfterMs;
      // A lost track is looked for where it was last seen (its prediction has stopped or drifted).
      return obs.map((o) => {
        const d = dist(lost ? t.lastSeenXyM : expectedAt(t.kf, this.#grad(o)), pointFor(t, o));
        if (d > gate) return FORBIDDEN;
        const sim = o.embedding ? bestSimilarity(t.bank, o.embedding) : null;
        if (sim === null) return d;
        if (lost && sim < cfg.reidMinSimilarity) return FORBIDDEN;
        return d + cfg.reidWeightM * (1 - sim);
      });
    });
    const used = new Set<number>();
    for (const [r, c] of assign(cost, cfg.assignCostLimitM)) {
      matched.set(free[r]!, obs[c]!);
      used.add(c);
    }
    return obs.filter((_, i) => !used.has(i));
  }

  #correct(t: Internal, o: FloorObservation, tMs: number): void {
    const cfg = this.#config;
    const lost = tMs - t.lastSeenMs > cfg.lostAfterMs;
    if (lost) {
      // Re-acquired: restart from the observation, keeping identity and re-id bank.
      t.kf = this.#initial(o, tMs);
    } else {
      correct(t.kf, pointFor(t, o), this.#grad(o), o.sigmaM, this.#limits);
    }
    t.lastSeenMs = Math.max(t.lastSeenMs, tMs);
    t.lastSeenXyM = [t.kf.xyM[0], t.kf.xyM[1]];
    t.hits++;
    if (!o.cut && !o.headCut) t.wholeSeen = true;
    if (o.crouchXyM) this.#followCrouch(t, o, tMs);
    if (o.embedding) {
      // Only a clean view joins the bank: in a crowd the box may hold a neighbour too.
      const crowded = this.#live.some((u) => u !== t && dist(u.kf.xyM, o.floorXyM) < cfg.reidMinSeparationM);
      if (!crowded) {
        remember(t.bank, o.embedding, cfg.reidBankSize);
        if (tMs - t.firstSeenMs <= cfg.identityGalleryMs && !t.orphan)
          remember(t.gallery, o.embedding, cfg.reidBankSize);
        t.recent.push({ tMs, embedding: o.embedding });
        while (t.recent.length > 0 && t.recent[0]!.tMs < tMs - cfg.identityRecentMs) t.recent.shift();
      }
    }
  }

  /**
   * A reading of where the head's size places the person moves the track's reported point to the
   * median of the last crouchPlaceMs of readings, once there are crouchPlaceReadings of them. A
   * median of several, because one camera's head box now and then reads small (a shelf or an arm
   * cuts it, a walking head blurs), and one such reading moves a point a metre. The offset holds
   * between readings (cameras' frames come one by one: worked out afresh at every frame, it
   * flickered as each reading left the window before the next came) and lapses crouchPlaceMs after
   * the last.
   */
  #followCrouch(t: Internal, o: FloorObservation, tMs: number): void {
    const cfg = this.#config;
    const readings = (t.crouch?.readings ?? []).filter((r) => r.tMs > tMs - cfg.crouchPlaceMs);
    readings.push({ tMs, offsetM: [o.crouchXyM![0] - o.floorXyM[0], o.crouchXyM![1] - o.floorXyM[1]] });
    const median = (xs: number[]) => {
      const s = [...xs].sort((p, q) => p - q);
      const m = s.length >> 1;
      return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
    };
    const offsetM: Vec2 =
      readings.length < cfg.crouchPlaceReadings
        ? [0, 0]
        : [median(readings.map((r) => r.offsetM[0])), median(readings.map((r) => r.offsetM[1]))];
    t.crouch = { readings, offsetM, atMs: Math.max(tMs, t.crouch?.atMs ?? tMs) };
  }

  /** Where a crouch moves the reported point at `tMs` (#followCrouch). */
  #crouchOffset(t: Internal, tMs: number): Vec2 {
    const c = t.crouch;
    return c && tMs - c.atMs <= this.#config.crouchPlaceMs ? c.offsetM : [0, 0];
  }

  #public(t: Internal, tMs: number): Track {
    const cfg = this.#config;
    const at = tMs - t.lastSeenMs > cfg.coastMs ? t.kf.xyM : positionAt(t.kf, tMs);
    const off = this.#crouchOffset(t, tMs);
    return {
      trackId: t.trackId ?? '',
      floorXyM: [at[0] + off[0], at[1] + off[1]],
      velocityMps: [t.kf.velocityMps[0], t.kf.velocityMps[1]],
      state: t.tentative ? 'tentative' : tMs - t.lastSeenMs > cfg.lostAfterMs ? 'lost' : 'confirmed',
      bornMs: t.firstSeenMs,
      lastSeenMs: t.lastSeenMs,
      bornXyM: [t.firstXyM[0], t.firstXyM[1]],
      ...(off[0] !== 0 || off[1] !== 0 ? { crouching: true } : {}),
    };
  }
}

const JUDGE_EVERY_MS = 500;

/** Where an observation places its person for this track: a departing track goes by cut boxes' feet. */
function pointFor(t: Internal, o: FloorObservation): Vec2 {
  return t.departedMs !== undefined && o.feetXyM ? o.feetXyM : o.floorXyM;
}

/** Exchanges who two tracks are (id, birth, appearance); each keeps where it is on the floor. */
function swapIdentities(a: Internal, b: Internal, tMs: number): void {
  [a.trackId, b.trackId] = [b.trackId, a.trackId];
  [a.firstSeenMs, b.firstSeenMs] = [b.firstSeenMs, a.firstSeenMs];
  [a.firstXyM, b.firstXyM] = [b.firstXyM, a.firstXyM];
  [a.wholeSeen, b.wholeSeen] = [b.wholeSeen, a.wholeSeen];
  [a.bank, b.bank] = [b.bank, a.bank];
  [a.gallery, b.gallery] = [b.gallery, a.gallery];
  // Given back on their looks: each follows its own person from now on.
  a.selfMs = tMs;
  b.selfMs = tMs;
  a.recent = [];
  b.recent = [];
  a.judgedMs = tMs;
  b.judgedMs = tMs;
}

function dist(a: Vec2, b: Vec2): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}
