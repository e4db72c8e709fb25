/**
 * Who made a weight event: the person whose hand was in the plate's volume while the shelf was
 * active. Hands come as viewing rays linked to a track (edge/tracking/hands.ts); a ray that passes
 * through the space just above the event's plates counts for its track. Where no hand was seen
 * (occlusion), the tracks standing nearest the shelf front decide, with less confidence. Near ties
 * are not coin flips: the result keeps every candidate and a low confidence. Pure.
 */
import { type CameraModel, cameraModel } from '../../proto/layout/projection.ts';
import type { Box, Plate, Shelf, StoreLayout, Vec2, Vec3 } from '../../proto/layout/schema.ts';
import { cutByBorder } from '../tracking/floor.ts';
import { handPoints, nearestClear } from '../tracking/hands.ts';
import type { HandSighting, WeightEvent } from '../types.ts';
import type { AttributionConfig } from './config.ts';

/** A hand's ray is checked against where its track stood this near (ms) its frame. */
export const HANG_POSITION_MS = 250;
/** Where a hand taking from a plate is, above its surface (m). */
const HAND_ABOVE_PLATE_M = 0.1;

export interface Candidate {
  trackId: string;
  score: number;
  /** Hand rays through the plates' volume during the event (summed detection scores). */
  hands: number;
  /** Triangulated hand points in the plates' volume during the event. */
  points: number;
  /** Closest floor distance to the shelf front during the event, metres. */
  distanceM: number;
  /** Whether it stood within an arm's reach of the plates' fronts (`handReachM`) during the event. */
  inReach: boolean;
  /** When a hand of this track was first seen in the plates' volume (a ray through it). */
  firstHandMs?: number;
}

export interface Attribution {
  /** Best first; empty when nobody was near. */
  candidates: Candidate[];
  /** Belief that `candidates[0]` made the event, 0..1. */
  confidence: number;
  method: 'hand' | 'nearest' | 'none';
}

/** Recent floor positions of every track, for distances during an event. */
export type PositionsAt = (trackId: string, fromMs: number, toMs: number) => Vec2[];

interface Footprint {
  shelfId: string;
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
  topZ: number;
}

/** Where a shopper stands to reach a plate: its front edge on the floor, and the way out of it. */
interface Front {
  edge: [Vec2, Vec2];
  middle: Vec2;
  outward: Vec2;
}

const OUTWARD: Record<Shelf['facing'], Vec2> = { '+x': [1, 0], '-x': [-1, 0], '+y': [0, 1], '-y': [0, -1] };

export class PlateGeometry {
  private readonly footprints = new Map<string, Footprint>();
  /** Per plate, computed once: attribution and the lean check measure from them at every event. */
  private readonly fronts = new Map<string, Front>();
  private readonly shelves = new Map<string, Shelf>();
  private readonly shelfPlates = new Map<string, string[]>();
  readonly plates = new Map<string, Plate>();
  private readonly cameras = new Map<string, CameraModel>();

  constructor(layout: StoreLayout) {
    for (const c of layout.cameras) this.cameras.set(c.id, cameraModel(c));
    for (const s of layout.shelves) this.shelves.set(s.id, s);
    for (const p of layout.plates) {
      this.plates.set(p.id, p);
      this.shelfPlates.set(p.shelfId, [...(this.shelfPlates.get(p.shelfId) ?? []), p.id]);
      const facing = this.shelves.get(p.shelfId)?.facing ?? '+y';
      // A plate's width runs along its shelf; its depth runs into the shelf, away from the shopper.
      const alongX = facing === '+y' || facing === '-y';
      const halfX = (alongX ? p.sizeM[0] : p.sizeM[1]) / 2;
      const halfY = (alongX ? p.sizeM[1] : p.sizeM[0]) / 2;
      const f: Footprint = {
        shelfId: p.shelfId,
        minX: p.centerM[0] - halfX,
        maxX: p.centerM[0] + halfX,
        minY: p.centerM[1] - halfY,
        maxY: p.centerM[1] + halfY,
        topZ: p.centerM[2],
      };
      this.footprints.set(p.id, f);
      this.fronts.set(p.id, frontOf(f, OUTWARD[facing]));
    }
  }

  footprint(plateId: string): Footprint | undefined {
    return this.footprints.get(plateId);
  }

  /**
   * Can the sighting's hand be in the space just above the plate? Its ray must pass through that
   * space before it meets any other shelf: a shelf's box is the space its products fill between its
   * boards, so a ray that crosses another shelf first was stopped by a board or a back panel, and
   * the hand the camera saw is in front of it. Without this, a hand raised to a shelf at 1.2 m,
   * seen from a ceiling camera on the far side, reached the bottom shelf below it on its ray's way
   * down (baseline seed 3, a put-back charged to another visit).
   */
  reaches(s: HandSighting, f: Footprint, marginM: number, reachM: number): boolean {
    const t = rayEntry(s, f, marginM, reachM);
    if (t === null) return false;
    for (const shelf of this.shelves.values()) {
      if (shelf.id === f.shelfId) continue;
      const hit = rayBox(s, shelf.box);
      if (hit !== null && hit < t) return false;
    }
    return true;
  }

  /**
   * Does the sighting show a hand hanging at its shopper's side rather than one above the plate?
   * The ray to a hand hanging beside a shopper crosses the space above a top plate on its way down
   * to the hand; which of the two places the hand is at shows in its box, smaller the farther along
   * the ray (a hand's depth is `handSizeM` × focal length ÷ its box's side). False when it cannot
   * be judged: no box, a box the image border cut, no camera, no body (`bodyAt`: where the
   * sighting's track stood around its frame) near the ray at hanging height, a plate less than
   * `hangMinGapM` above that height.
   */
  hangsAtSide(
    s: HandSighting,
    f: Footprint,
    bodyAt: () => readonly Vec2[],
    o: Pick<AttributionConfig, 'handSizeM' | 'hangZM' | 'hangRadiusM' | 'hangMargin' | 'hangMinGapM'>,
  ): boolean {
    const cam = this.cameras.get(s.cameraId);
    const b = s.bboxPx;
    if (!cam || !b || o.hangRadiusM <= 0) return false;
    const plateZ = f.topZ + HAND_ABOVE_PLATE_M;
    if (plateZ - o.hangZM < o.hangMinGapM) return false;
    if (cutByBorder(b, cam.width, cam.height)) return false;
    const [ox, oy, oz] = s.rayOriginM;
    const [dx, dy, dz] = s.rayDirection;
    if (dz > -1e-9) return false;
    const tHang = (o.hangZM - oz) / dz;
    const [hx, hy] = [ox + tHang * dx, oy + tHang * dy];
    // Where the body stood is looked up last: most rays are ruled out above for less.
    if (!bodyAt().some((p) => Math.hypot(hx - p[0], hy - p[1]) < o.hangRadiusM)) return false;
    const tPlate = (plateZ - oz) / dz;
    const r = cam.rWorldToCam;
    // Depth along the optical axis per unit of ray: the ray starts at the camera.
    const perT = r[6]! * dx + r[7]! * dy + r[8]! * dz;
    const depthM = (cam.fxPx * o.handSizeM) / Math.sqrt(b.w * b.h);
    const offHang = Math.abs(Math.log(depthM / (tHang * perT)));
    const offPlate = Math.abs(Math.log(depthM / (tPlate * perT)));
    return offHang + o.hangMargin < offPlate;
  }

  /**
   * How far (m, on the floor) a sighting's hand is from the nearest of the plates' footprints,
   * taking the hand at the plate's height along its ray (infinite when the ray never gets there).
   */
  handToPlatesM(s: HandSighting, plateIds: readonly string[]): number {
    let best = Number.POSITIVE_INFINITY;
    const [ox, oy, oz] = s.rayOriginM;
    const [dx, dy, dz] = s.rayDirection;
    for (const id of plateIds) {
      const f = this.footprints.get(id);
      if (!f || Math.abs(dz) < 1e-9) continue;
      const t = (f.topZ - oz) / dz;
      if (t > 0) best = Math.min(best, pointToPlate([ox + t * dx, oy + t * dy, f.topZ], f, 0));
    }
    return best;
  }

  /** A shelf's plates. */
  platesOf(shelfId: string): readonly string[] {
    return this.shelfPlates.get(shelfId) ?? [];
  }

  /** The floor direction from the plate's front out into the aisle. */
  outward(plateId: string): Vec2 | undefined {
    return this.fronts.get(plateId)?.outward;
  }

  /**
   * Where a shopper stands to reach the plate: its front edge, on the floor, as a segment. Not
   * the edge's middle: a plate can be 1.3 m long, and a shopper at one end stood 0.6 m nearer it
   * than its middle says (baseline seed 5: a put-back found no one within 2 m).
   */
  front(plateId: string): [Vec2, Vec2] | undefined {
    return this.fronts.get(plateId)?.edge;
  }

  /** The middle of the plate's front edge. */
  frontMiddle(plateId: string): Vec2 | undefined {
    return this.fronts.get(plateId)?.middle;
  }

  /**
   * Floor distance (m) from a point to the nearest of the plates' fronts. With `facing`, infinite
   * from behind a front (more than BEHIND_M into or beyond its shelf): a shopper at the other
   * face of a gondola was 1.4 m from this face's edge but could not reach it. Not for attribution: a
   * crouching shopper, placed towards the camera, can seem to stand behind the shelf they pick
   * from (baseline seed 4: a pick then found no candidate).
   */
  distanceToFronts(plateIds: readonly string[], at: Vec2, facing = false): number {
    let d = Number.POSITIVE_INFINITY;
    for (const id of plateIds) {
      const front = this.fronts.get(id);
      if (!front) continue;
      const [[ax, ay], [bx, by]] = front.edge;
      const out = front.outward;
      if (facing && (at[0] - ax) * out[0] + (at[1] - ay) * out[1] < -BEHIND_M) continue;
      // Fronts run along x or y: clamp the point onto the segment.
      const x = Math.min(Math.max(at[0], Math.min(ax, bx)), Math.max(ax, bx));
      const y = Math.min(Math.max(at[1], Math.min(ay, by)), Math.max(ay, by));
      d = Math.min(d, Math.hypot(at[0] - x, at[1] - y));
    }
    return d;
  }
}

/** The footprint's edge facing `outward`, its middle, and the direction. */
function frontOf(f: Footprint, outward: Vec2): Front {
  const edge: [Vec2, Vec2] =
    outward[0] !== 0
      ? [
          [outward[0] > 0 ? f.maxX : f.minX, f.minY],
          [outward[0] > 0 ? f.maxX : f.minX, f.maxY],
        ]
      : [
          [f.minX, outward[1] > 0 ? f.maxY : f.minY],
          [f.maxX, outward[1] > 0 ? f.maxY : f.minY],
        ];
  const middle: Vec2 = [(edge[0][0] + edge[1][0]) / 2, (edge[0][1] + edge[1][1]) / 2];
  return { edge, middle, outward };
}

/** How far (m) behind a plate's front line a tracked shopper may seem to stand (tracking error). */
const BEHIND_M = 0.3;

/** Does the ray pass through the box above the footprint (margin around it, `reachM` above its top)? */
function rayThroughPlate(s: HandSighting, f: Footprint, marginM: number, reachM: number): boolean {
  return rayEntry(s, f, marginM, reachM) !== null;
}

/**
 * How far along the ray (in units of its direction) it is first seen in the box above the
 * footprint, or null: the z slab's top, middle and bottom are checked in x and y, nearest first.
 */
function rayEntry(s: HandSighting, f: Footprint, marginM: number, reachM: number): number | null {
  const [ox, oy, oz] = s.rayOriginM;
  const [dx, dy, dz] = s.rayDirection;
  if (Math.abs(dz) < 1e-9) return null;
  const t0 = (f.topZ - oz) / dz;
  const t1 = (f.topZ + reachM - oz) / dz;
  for (const t of [t0, (t0 + t1) / 2, t1].sort((a, b) => a - b)) {
    if (t <= 0) continue;
    const x = ox + t * dx;
    const y = oy + t * dy;
    if (x >= f.minX - marginM && x <= f.maxX + marginM && y >= f.minY - marginM && y <= f.maxY + marginM)
      return t;
  }
  return null;
}

/** Where (ray parameter) the ray enters the box, or null when it misses it or the box is behind. */
function rayBox(s: HandSighting, box: Box): number | null {
  let near = 0;
  let far = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const o = s.rayOriginM[i]!;
    const d = s.rayDirection[i]!;
    const lo = box.minM[i]!;
    const hi = box.maxM[i]!;
    if (Math.abs(d) < 1e-12) {
      if (o < lo || o > hi) return null;
      continue;
    }
    const a = (lo - o) / d;
    const b = (hi - o) / d;
    near = Math.max(near, Math.min(a, b));
    far = Math.min(far, Math.max(a, b));
    if (near > far) return null;
  }
  return near;
}

/** How far (m) the point is from the box above the footprint. */
function pointToPlate(p: Vec3, f: Footprint, reachM: number): number {
  const dx = Math.max(f.minX - p[0], 0, p[0] - f.maxX);
  const dy = Math.max(f.minY - p[1], 0, p[1] - f.maxY);
  const dz = Math.max(f.topZ - p[2], 0, p[2] - (f.topZ + reachM));
  return Math.hypot(dx, dy, dz);
}

/** Is the point in the box above the footprint (margin around it, `reachM` above its top)? */
export function pointInPlate(p: Vec3, f: Footprint, marginM: number, reachM: number): boolean {
  return (
    p[0] >= f.minX - marginM &&
    p[0] <= f.maxX + marginM &&
    p[1] >= f.minY - marginM &&
    p[1] <= f.maxY + marginM &&
    p[2] >= f.topZ - marginM &&
    p[2] <= f.topZ + reachM
  );
}

export function attribute(
  event: WeightEvent,
  geometry: PlateGeometry,
  sightings: readonly HandSighting[],
  tracks: readonly string[],
  positions: PositionsAt,
  config: AttributionConfig,
): Attribution {
  const fromMs = event.startMs - config.handBeforeMs;
  const toMs = event.settledMs + config.handAfterMs;
  const inPlates = (test: (f: Footprint) => boolean) =>
    event.plates.some((p) => {
      const f = geometry.footprint(p.plateId);
      return f !== undefined && test(f);
    });
  const points = new Map<string, number>();
  const firstHand = new Map<string, number>();
  const seenAt = (trackId: string, tMs: number) =>
    firstHand.set(trackId, Math.min(firstHand.get(trackId) ?? tMs, tMs));
  // A sighting whose hand was located (two cameras' rays meeting) well away from the plates says
  // so by its point, and its ray no longer counts: a ray passes over plates beyond its hand (a
  // hand hanging at the side of a shopper before a low shelf, seen from behind, "reaches" its
  // bottom plate). Only well away: see pointFarM.
  const located = new Set<HandSighting>();
  if (config.pointWeight > 0) {
    const inWindow = sightings.filter((s) => s.captureMs >= fromMs && s.captureMs <= toMs);
    for (const h of handPoints(inWindow, { maxDtMs: config.pointMaxDtMs, maxGapM: config.pointMaxGapM })) {
      const far = event.plates.every((p) => {
        const f = geometry.footprint(p.plateId);
        return f === undefined || pointToPlate(h.pointM, f, config.reachAboveM) > config.pointFarM;
      });
      if (far) for (const s of h.from) located.add(s);
      if (!inPlates((f) => pointInPlate(h.pointM, f, config.plateMarginM, config.reachAboveM))) continue;
      const owner = h.trackId ?? ownerOfPoint(h.pointM, h.tMs, tracks, positions, config);
      if (!owner) continue;
      points.set(owner, (points.get(owner) ?? 0) + 1);
      seenAt(owner, h.tMs);
    }
  }
  const crosses = config.fixturesOcclude
    ? (s: HandSighting, f: Footprint) => geometry.reaches(s, f, config.plateMarginM, config.reachAboveM)
    : (s: HandSighting, f: Footprint) => rayThroughPlate(s, f, config.plateMarginM, config.reachAboveM);
  const hangs = (s: HandSighting, f: Footprint) => {
    const trackId = s.trackId;
    const bodyAt = () =>
      trackId ? positions(trackId, s.captureMs - HANG_POSITION_MS, s.captureMs + HANG_POSITION_MS) : [];
    return geometry.hangsAtSide(s, f, bodyAt, config);
  };
  const through = (s: HandSighting, f: Footprint) => crosses(s, f) && !hangs(s, f);
  const hands = new Map<string, number>();
  for (const s of sightings) {
    if (!s.trackId || s.captureMs < fromMs || s.captureMs > toMs || located.has(s)) continue;
    if (!inPlates((f) => through(s, f))) continue;
    hands.set(s.trackId, (hands.get(s.trackId) ?? 0) + s.score);
    seenAt(s.trackId, s.captureMs);
  }
  const plateIds = event.plates.map((p) => p.plateId);
  const middles = plateIds.map((id) => geometry.frontMiddle(id)).filter((m): m is Vec2 => m !== undefined);
  const candidates: Candidate[] = [];
  for (const trackId of tracks) {
    let distanceM = Number.POSITIVE_INFINITY;
    // Nearness is scored from the fronts' middles (on a long plate, where along it a shopper
    // stands still says something: scored from the whole edge, seeds 1-5 gave 2 more events to
    // another visit), but whoever stood within reach of any part of an edge is a candidate.
    let edgeM = Number.POSITIVE_INFINITY;
    for (const at of positions(trackId, event.startMs, event.settledMs)) {
      for (const m of middles) distanceM = Math.min(distanceM, Math.hypot(at[0] - m[0], at[1] - m[1]));
      edgeM = Math.min(edgeM, geometry.distanceToFronts(plateIds, at));
    }
    // A hand is within an arm's reach of its body: a track that stood farther from the plates
    // all through the event did not put its hand in them, whatever ray or point says so.
    const within = edgeM <= config.handReachM;
    const h = within ? (hands.get(trackId) ?? 0) : 0;
    const pts = within ? (points.get(trackId) ?? 0) : 0;
    if (h === 0 && pts === 0 && edgeM > config.nearestMaxM) continue;
    const near = Math.exp(-(distanceM * distanceM) / (2 * config.nearestSigmaM ** 2));
    candidates.push({
      trackId,
      score: h * config.handWeight + pts * config.pointWeight + near,
      hands: h,
      points: pts,
      distanceM,
      inReach: within,
      ...(firstHand.has(trackId) ? { firstHandMs: firstHand.get(trackId)! } : {}),
    });
  }
  candidates.sort((a, b) => b.score - a.score || a.distanceM - b.distanceM);
  return ranked(candidates, config);
}

/**
 * An attribution of candidates in order: the top's share against the runner-up, capped by what
 * the method can know (distance alone never makes a sure attribution).
 */
function ranked(
  candidates: Candidate[],
  config: Pick<AttributionConfig, 'nearestOnlyMaxConfidence'>,
): Attribution {
  const top = candidates[0];
  if (!top) return { candidates, confidence: 0, method: 'none' };
  const second = candidates[1]?.score ?? 0;
  const method = top.hands > 0 || top.points > 0 ? 'hand' : 'nearest';
  const share = top.score / (top.score + second);
  const cap = method === 'hand' ? 1 : config.nearestOnlyMaxConfidence;
  return { candidates, confidence: Math.min(share, cap), method };
}

/**
 * Whose hand a point no sighting linked to a track is: the track standing nearest it
 * (horizontally) within an arm's reach, unless another stands about as near. A point, unlike a
 * ray, is where the hand was, so its reach tells its owner well.
 */
function ownerOfPoint(
  pointM: Vec3,
  tMs: number,
  tracks: readonly string[],
  positions: PositionsAt,
  config: AttributionConfig,
): string | null {
  const reach = tracks.map((trackId) => {
    let m = Number.POSITIVE_INFINITY;
    for (const at of positions(trackId, tMs - POINT_POSITION_MS, tMs + POINT_POSITION_MS))
      m = Math.min(m, Math.hypot(at[0] - pointM[0], at[1] - pointM[1]));
    return [trackId, m] as const;
  });
  return nearestClear(reach, config.pointReachM, config.pointReachTieM);
}

/** Where a track stood when a point was seen: its positions this close (ms) to the point's time. */
const POINT_POSITION_MS = 150;

/**
 * The candidates with the visit that most likely made the event first: the one whose tracks' scores
 * sum highest (a track on no visit is a party of its own), its best track on top. The receipt
 * asks which visit pays, and a visit is as likely as the sum of its members: two members of one
 * party standing by a shelf no camera sees hands at, against one shopper of another a little
 * nearer, were given to the one shopper (baseline seed 6, the wall's top shelf). The rest keep
 * their order; the confidence is the new top's share against the runner-up, capped as before.
 */
export function partyFirst(
  who: Attribution,
  visitOf: (trackId: string) => string | null,
  config: Pick<AttributionConfig, 'nearestOnlyMaxConfidence'>,
): Attribution {
  const top = who.candidates[0];
  if (!top) return who;
  const party = (id: string) => visitOf(id) ?? `track:${id}`;
  const sums = new Map<string, number>();
  for (const c of who.candidates) {
    const p = party(c.trackId);
    sums.set(p, (sums.get(p) ?? 0) + c.score);
  }
  const ours = party(top.trackId);
  let best = ours;
  for (const [p, sum] of sums) if (sum > sums.get(best)!) best = p;
  if (best === ours) return who;
  return ranked(
    [
      ...who.candidates.filter((c) => party(c.trackId) === best),
      ...who.candidates.filter((c) => party(c.trackId) !== best),
    ],
    config,
  );
}

/**
 * Belief that the event belongs to the top candidate's visit (what the receipt cares about): the
 * runner-ups of the same party count with the top against the best candidate of another visit
 * (or of none). Capped as `attribute` caps it; a track on no visit counts as its own party.
 */
export function partyConfidence(
  who: Attribution,
  visitOf: (trackId: string) => string | null,
  config: AttributionConfig,
): number {
  const top = who.candidates[0];
  if (!top) return 0;
  const party = visitOf(top.trackId);
  if (party === null) return who.confidence;
  let ours = 0;
  let theirs = 0;
  for (const c of who.candidates) {
    if (visitOf(c.trackId) === party) ours += c.score;
    else theirs = Math.max(theirs, c.score);
  }
  const cap = who.method === 'hand' ? 1 : config.nearestOnlyMaxConfidence;
  return Math.min(ours / (ours + theirs), cap);
}
