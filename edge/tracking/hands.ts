/**
 * Hands for attribution: each detected hand linked to the person box that owns it (hence, through
 * the tracker's `personTrack`, to a track) with its 3D viewing ray; and, where two cameras saw a
 * track's hand at about the same time, the 3D point where their rays meet.
 */
import type { PixelBox } from '../../models/runtime/index.ts';
import { type CameraModel, pixelRay } from '../../proto/layout/projection.ts';
import type { Vec3 } from '../../proto/layout/schema.ts';
import type { ArmLink, FrameDetections, HandSighting, Track } from '../types.ts';
import { trackerConfig } from './config.ts';

const TRACKER_DEFAULTS = trackerConfig();

export interface HandOptions {
  /** Hands scoring below this are ignored. */
  minScore: number;
  /** A hand outside every person box is linked to the nearest one only within this many pixels. */
  maxOutsidePx: number;
  /** A hand no person box gives a track is looked for between these heights (m) along its ray... */
  armMinZM: number;
  armMaxZM: number;
  /**
   * ...or, for a track reported crouching (Track.crouching), between these: its arms reach from
   * the floor to about its head, and it is reported where it crouches, at the shelf, where the
   * stretch at standing arm heights passes well away from it.
   */
  crouchArmMinZM: number;
  crouchArmMaxZM: number;
  /** ...and given to the track standing within this horizontal reach (m) of that stretch... */
  reachM: number;
  /** ...unless another track stands within this much (m) as near: then nobody (a coin flip). */
  reachTieM: number;
  /**
   * A hand in a person box goes instead to another track standing this much (m) nearer its ray
   * between arm heights than the box's track (0: never). See DEFAULT_HAND_OPTIONS.
   */
  nearerByM: number;
  /** The tracker config's armAccept and armReject (edge/tracking/config.ts). */
  armAccept: number;
  armReject: number;
}

/**
 * An arm reaching into a shelf leaves its person's box in an overhead view: on a kept baseline run,
 * half of the hands truly in a plate's volume had no box (or a box with no track). Given by reach,
 * the hands that run left unlinked went to their true owner 430 times and to another 3 (120 left
 * to nobody) with these values; with a 0.9 m reach over 0.2–1.9 m and a 0.25 m tie, 448 and 14
 * (`npx tsx benchmarks/accuracy/hand-links.ts --relink [--set reachM=0.9 ...] DUMP`, on baseline
 * seed 2, 5 minutes, kept by bench:accuracy --dump before hands were linked by reach).
 */
export const DEFAULT_HAND_OPTIONS: Readonly<HandOptions> = Object.freeze({
  minScore: 0.3,
  maxOutsidePx: 12,
  armMinZM: 0.5,
  armMaxZM: 1.7,
  crouchArmMinZM: 0.05,
  crouchArmMaxZM: 1.1,
  reachM: 0.7,
  reachTieM: 0.4,
  // Measured: see nearerThan.
  nearerByM: 0.2,
  armAccept: TRACKER_DEFAULTS.armAccept,
  armReject: TRACKER_DEFAULTS.armReject,
});

/** Pixel distance from a point to a box (0 inside). */
function toBoxPx(box: PixelBox, u: number, v: number): number {
  const du = Math.max(box.x - u, 0, u - (box.x + box.w));
  const dv = Math.max(box.y - v, 0, v - (box.y + box.h));
  return Math.hypot(du, dv);
}

/**
 * The person detection that owns a hand: among boxes containing the hand's centre, the one whose
 * centre is nearest (in a crowd, boxes overlap and an arm reaches out from its own body's
 * middle); else the nearest box within `maxOutsidePx`. -1 if none.
 */
export function handOwner(
  detections: FrameDetections['detections'],
  hand: PixelBox,
  maxOutsidePx: number,
): number {
  const u = hand.x + hand.w / 2;
  const v = hand.y + hand.h / 2;
  let best = -1;
  let bestKey = Number.POSITIVE_INFINITY;
  for (const [i, d] of detections.entries()) {
    if (d.cls !== 'person') continue;
    const out = toBoxPx(d.bbox, u, v);
    if (out > maxOutsidePx) continue;
    const fromCentre = Math.hypot(u - (d.bbox.x + d.bbox.w / 2), v - (d.bbox.y + d.bbox.h / 2));
    // Containing boxes first (out = 0), by distance to centre; then outside ones by distance.
    const key = out > 0 ? 1e6 + out : fromCentre;
    if (key < bestKey) {
      best = i;
      bestKey = key;
    }
  }
  return best;
}

/**
 * The frame's hands as sightings: viewing ray from the camera, and the owning person's track — by
 * the person box the hand belongs to, else (an arm out of its box, a box no track took) by which
 * track stands within reach of the ray (`tracks`: where every track is at the frame's time).
 */
export function handSightings(
  frame: FrameDetections,
  camera: CameraModel,
  personTrack: readonly (string | null)[],
  tracks: readonly Pick<Track, 'trackId' | 'floorXyM' | 'state'>[] = [],
  options: HandOptions = DEFAULT_HAND_OPTIONS,
): HandSighting[] {
  const out: HandSighting[] = [];
  const bodies = standing(tracks);
  for (const [k, d] of frame.detections.entries()) {
    if (d.cls !== 'hand' || d.score < options.minScore) continue;
    const owner = handOwner(frame.detections, d.bbox, options.maxOutsidePx);
    const sighting: HandSighting = {
      cameraId: frame.cameraId,
      captureMs: frame.captureMs,
      rayOriginM: [camera.positionM[0], camera.positionM[1], camera.positionM[2]],
      rayDirection: pixelRay(camera, d.bbox.x + d.bbox.w / 2, d.bbox.y + d.bbox.h / 2),
      trackId: owner >= 0 ? (personTrack[owner] ?? null) : null,
      score: d.score,
      frameIndex: frame.frameIndex,
      bboxPx: { ...d.bbox },
    };
    // The arm, where the model clearly saw one, decides before the boxes and reach.
    const arm = frame.armLinks ? armOwner(k, frame.armLinks, personTrack, options) : null;
    if (arm) {
      sighting.trackId = arm;
      sighting.linkedBy = 'arm';
    } else if (sighting.trackId) {
      sighting.linkedBy = 'box';
      const nearer =
        options.nearerByM > 0
          ? nearerThan(sighting.trackId, bodyDistances(sighting, bodies, options), options.nearerByM)
          : null;
      if (nearer) {
        sighting.trackId = nearer;
        sighting.linkedBy = 'nearer';
      }
    } else {
      const distances = bodyDistances(sighting, bodies, options);
      sighting.trackId = nearestClear(distances, options.reachM, options.reachTieM);
      if (sighting.trackId) sighting.linkedBy = 'reach';
    }
    out.push(sighting);
  }
  return out;
}

/**
 * The track whose head the arm-link model clearly joined hand `hand` to: its best head at least
 * `armAccept`, every other track's heads at most `armReject` (and one at least asked about); null
 * otherwise, or when the best head belongs to no track.
 */
export function armOwner(
  hand: number,
  links: readonly ArmLink[],
  personTrack: readonly (string | null)[],
  o: Pick<HandOptions, 'armAccept' | 'armReject'>,
): string | null {
  // A head no track took still competes: it may be the owner's.
  const best = new Map<string, number>();
  for (const l of links) {
    if (l.hand !== hand) continue;
    const key = personTrack[l.head] ?? `head ${l.head}`;
    best.set(key, Math.max(best.get(key) ?? 0, l.probability));
  }
  // One head asked about, however likely, is no decision: the model was trained to tell heads apart.
  if (best.size < 2) return null;
  let owner: string | null = null;
  for (const [track, p] of best) {
    if (p >= o.armAccept) {
      if (owner) return null;
      owner = track;
    } else if (p > o.armReject) return null;
  }
  return owner?.startsWith('head ') ? null : owner;
}

/**
 * The track standing at least `byM` nearer the hand's ray than the box's own track, if any. Person
 * boxes overlap in a crowd and a neighbour's box often holds the hand, or the owner's box is
 * missing. Replayed (`npx tsx benchmarks/accuracy/hand-relink.ts --set nearerByM=0 DUMP...`, kept
 * baseline runs of 951ee0d), hands at a shelf linked to another person's track: 113 to 100 of
 * 3,558 on seeds 1-3, 191 to 174 of 3,924 on crowded seed 9 (detected at 10 frames a second);
 * right links 3,249 to 3,262 and 3,270 to 3,287. At 0.1 m: 101 and 194 wrong; at 0.3 m: 104, 176.
 */
function nearerThan(
  trackId: string,
  distances: readonly (readonly [string, number])[],
  byM: number,
): string | null {
  const own = distances.find(([id]) => id === trackId)?.[1];
  if (own === undefined) return null;
  let best: string | null = null;
  let bestM = own - byM;
  for (const [id, m] of distances)
    if (id !== trackId && m < bestM) {
      best = id;
      bestM = m;
    }
  return best;
}

/** Tracks that are a body an arm could belong to: neither lost nor still tentative. */
function standing<T extends Pick<Track, 'state'>>(tracks: readonly T[]): T[] {
  return tracks.filter((t) => t.state !== 'lost' && t.state !== 'tentative');
}

/**
 * How far (m, horizontally) each body stands from the stretch of a hand's ray between arm heights;
 * none when the ray has no such stretch.
 */
function bodyDistances(
  s: Pick<HandSighting, 'rayOriginM' | 'rayDirection'>,
  bodies: readonly Pick<Track, 'trackId' | 'floorXyM' | 'crouching'>[],
  options: Pick<HandOptions, 'armMinZM' | 'armMaxZM' | 'crouchArmMinZM' | 'crouchArmMaxZM'>,
): (readonly [string, number])[] {
  const [ox, oy, oz] = s.rayOriginM;
  const [dx, dy, dz] = s.rayDirection;
  if (Math.abs(dz) < 1e-9) return [];
  const at = (z: number): [number, number] | null => {
    const t = (z - oz) / dz;
    return t > 0 ? [ox + t * dx, oy + t * dy] : null;
  };
  const a = at(options.armMaxZM);
  const b = at(options.armMinZM);
  if (!a || !b) return [];
  // Only when some track crouches: this runs for every hand of every frame.
  const crouch = bodies.some((t) => t.crouching)
    ? [at(options.crouchArmMaxZM), at(options.crouchArmMinZM)]
    : [];
  return bodies.map((t) => {
    const [ca, cb] = t.crouching ? crouch : [];
    return [t.trackId, ca && cb ? toSegmentM(t.floorXyM, ca, cb) : toSegmentM(t.floorXyM, a, b)] as const;
  });
}

/**
 * The track that could own a hand seen along a ray: the one standing nearest (horizontally) to the
 * ray's stretch between arm heights, within reach; null when none is, or two are about as near.
 */
export function ownerByReach(
  s: Pick<HandSighting, 'rayOriginM' | 'rayDirection'>,
  tracks: readonly Pick<Track, 'trackId' | 'floorXyM' | 'state'>[],
  options: Pick<
    HandOptions,
    'armMinZM' | 'armMaxZM' | 'crouchArmMinZM' | 'crouchArmMaxZM' | 'reachM' | 'reachTieM'
  >,
): string | null {
  return nearestClear(bodyDistances(s, standing(tracks), options), options.reachM, options.reachTieM);
}

/**
 * Of (id, metres) pairs, the nearest id if it is within `reachM` and no other is within `tieM` as
 * near (a near tie is nobody, not a coin flip); else null.
 */
export function nearestClear(
  distances: Iterable<readonly [string, number]>,
  reachM: number,
  tieM: number,
): string | null {
  let best: string | null = null;
  let bestM = Number.POSITIVE_INFINITY;
  let secondM = Number.POSITIVE_INFINITY;
  for (const [id, m] of distances) {
    if (m < bestM) {
      secondM = bestM;
      bestM = m;
      best = id;
    } else if (m < secondM) secondM = m;
  }
  return best !== null && bestM <= reachM && secondM - bestM >= tieM ? best : null;
}

function toSegmentM(p: readonly number[], a: [number, number], b: [number, number]): number {
  const vx = b[0] - a[0];
  const vy = b[1] - a[1];
  const len2 = vx * vx + vy * vy;
  const u = len2 < 1e-12 ? 0 : Math.max(0, Math.min(1, ((p[0]! - a[0]) * vx + (p[1]! - a[1]) * vy) / len2));
  return Math.hypot(p[0]! - (a[0] + u * vx), p[1]! - (a[1] + u * vy));
}

/** The midpoint of the shortest segment between two rays, and its length; null for near-parallel rays or a point behind a camera. */
export function triangulate(a: HandSighting, b: HandSighting): { pointM: Vec3; gapM: number } | null {
  const p = a.rayOriginM;
  const q = b.rayOriginM;
  const u = a.rayDirection;
  const v = b.rayDirection;
  const w: Vec3 = [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
  const dot = (x: Vec3, y: Vec3) => x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
  const uu = dot(u, u);
  const uv = dot(u, v);
  const vv = dot(v, v);
  const uw = dot(u, w);
  const vw = dot(v, w);
  const den = uu * vv - uv * uv;
  if (den < 1e-9) return null;
  const s = (uv * vw - vv * uw) / den;
  const t = (uu * vw - uv * uw) / den;
  if (s <= 0 || t <= 0) return null;
  const pa: Vec3 = [p[0] + s * u[0], p[1] + s * u[1], p[2] + s * u[2]];
  const pb: Vec3 = [q[0] + t * v[0], q[1] + t * v[1], q[2] + t * v[2]];
  return {
    pointM: [(pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2, (pa[2] + pb[2]) / 2],
    gapM: Math.hypot(pa[0] - pb[0], pa[1] - pb[1], pa[2] - pb[2]),
  };
}

export interface HandPoint {
  /** The track whose hand it is, by the sightings' links; null when neither sighting had one. */
  trackId: string | null;
  pointM: Vec3;
  /** Mean capture time of the two sightings. */
  tMs: number;
  gapM: number;
  cameraIds: [string, string];
  /** The two sightings it was found from. */
  from: [HandSighting, HandSighting];
}

/**
 * 3D hand points from sightings by two cameras at most `maxDtMs` apart whose rays pass within
 * `maxGapM`: each sighting used once, closest pairs first (a track has two hands; the wrong
 * pairing of left and right meets far apart, or not at all). The two may not be linked to two
 * different tracks, but one or both may be linked to none: an arm deep in a shelf has often left
 * its body's box in one view. Points in a plate's volume during its event, over the 22 kept runs of
 * c080f8c (`npx tsx benchmarks/accuracy/hand-points.ts
 * [--linked-only] DUMPS`): 1037 at the picker's hand, 17 at another shopper's, 212 at no true
 * hand, in 388 of 1109 events; pairing only sightings linked to one track, 463, 6 and 89, in 230.
 */
export function handPoints(
  sightings: readonly HandSighting[],
  options: { maxDtMs: number; maxGapM: number },
): HandPoint[] {
  const candidates: { i: number; j: number; pointM: Vec3; gapM: number }[] = [];
  for (let i = 0; i < sightings.length; i++) {
    const a = sightings[i]!;
    for (let j = i + 1; j < sightings.length; j++) {
      const b = sightings[j]!;
      if (b.cameraId === a.cameraId || (a.trackId && b.trackId && a.trackId !== b.trackId)) continue;
      if (Math.abs(a.captureMs - b.captureMs) > options.maxDtMs) continue;
      const r = triangulate(a, b);
      if (r && r.gapM <= options.maxGapM) candidates.push({ i, j, ...r });
    }
  }
  candidates.sort((x, y) => x.gapM - y.gapM);
  const used = new Set<number>();
  const out: HandPoint[] = [];
  for (const c of candidates) {
    if (used.has(c.i) || used.has(c.j)) continue;
    used.add(c.i);
    used.add(c.j);
    const a = sightings[c.i]!;
    const b = sightings[c.j]!;
    out.push({
      trackId: a.trackId ?? b.trackId,
      pointM: c.pointM,
      tMs: (a.captureMs + b.captureMs) / 2,
      gapM: c.gapM,
      cameraIds: [a.cameraId, b.cameraId],
      from: [a, b],
    });
  }
  return out;
}
