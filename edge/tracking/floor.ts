/**
 * One camera frame's person and head detections as points on the floor, each with its noise.
 *
 * A head's floor point is its box centre's ray cut with the plane at head height: the head is the
 * part of a person an overhead camera sees best and places best (measured against the simulator's
 * truth, benchmarks/accuracy/floor-error.ts: median error 0.06 m from heads, 0.26 m from person
 * boxes). With crouchDropM (off by default: see it in config.ts) a crouching head is cut lower, at
 * the height its box's size gives. A person seen without a head is placed from its box centre at
 * half a person's height.
 */
import type { PixelBox } from '../../models/runtime/index.ts';
import { type CameraModel, pixelRay, unprojectToPlane } from '../../proto/layout/projection.ts';
import type { Vec2 } from '../../proto/layout/schema.ts';
import type { FrameDetections } from '../types.ts';
import type { TrackerConfig } from './config.ts';

/** One person in one frame, on the floor. */
export interface FloorObservation {
  /** Indexes into the frame's detections this observation stands for: its person box, its head, or both. */
  detIndexes: number[];
  floorXyM: Vec2;
  /**
   * How far the point moves per metre the head is higher than the plane it was cut at (away from
   * the nadir; towards it for a lower head): the ray's horizontal run per metre of height
   * (kalman.ts). Zero without a head.
   */
  gradM: Vec2;
  /** 1σ per axis, metres. */
  sigmaM: number;
  /** The best score of its detections. */
  score: number;
  hasHead: boolean;
  /**
   * Placed from a person box the image border cut, no head seen: the least sure of all. Its centre
   * lies well inside the real one's, towards the camera: on a recorded baseline run such points
   * were a median 0.61 m from anyone, 45 % within 0.5 m (benchmarks/accuracy/floor-error.ts). The
   * tracker lets them follow a track, start one only at the entry and from their feet, and never
   * confirm one: a run of them beside a shopper waiting at the entry grew a track of no one, and
   * the crossing bound it instead of the shopper. (Placed from their feet, the box's point nearest
   * the image centre, they are 90 % within 0.5 m, yet the tracker kept identities worse when it
   * followed tracks by them: 10 switches against 2, bench-tracking.ts.)
   */
  cut: boolean;
  /**
   * A cut person box's feet, its point nearest the image centre, on the floor: 90 % within 0.5 m
   * of the person, against 45 % for its centre (benchmarks/accuracy/floor-error.ts), but tracks
   * kept identities worse by them; a departing track (tracker.ts depart()) follows them.
   */
  feetXyM?: Vec2;
  /** Placed from a head the image border cut (uncutHead guessed its centre). */
  headCut: boolean;
  /**
   * Where the head's size places the person (crouchPlaceDropM): lower than the head plane when it
   * says they crouch, else `floorXyM`; absent when the head's size could not be read. Moves where
   * the track is reported, not the point it is matched by (TrackerConfig.crouchPlaceDropM).
   */
  crouchXyM?: Vec2;
  embedding: Float32Array | null;
}

export type FloorConfig = Pick<
  TrackerConfig,
  | 'headHeightM'
  | 'headSizeM'
  | 'headSizePerMetreM'
  | 'standingHeadM'
  | 'crouchDropM'
  | 'crouchPlaceDropM'
  | 'crouchMinScore'
  | 'headDropPerM'
  | 'personPointHeightM'
  | 'headInPersonMarginPx'
  | 'sigmaNadirM'
  | 'sigmaPerMetreM'
  | 'sigmaNoHeadFactor'
  | 'sigmaCutFactor'
  | 'maxFromNadirM'
>;

const centre = (b: PixelBox) => ({ u: b.x + b.w / 2, v: b.y + b.h / 2 });

/** Pixels from the image border within which a box counts as cut by it. */
const EDGE_PX = 1.5;

/**
 * A head cut by the image border: its box is the visible part, and its centre lies inside the
 * image when the real one is not (the largest floor errors, 0.5 m and more). Heads are about
 * round, so the cut side is pushed out to make the box square; `cut` tells the caller to trust it
 * less.
 */
export function uncutHead(box: PixelBox, widthPx: number, heightPx: number): { box: PixelBox; cut: boolean } {
  const side = Math.max(box.w, box.h);
  let { x, y, w, h } = box;
  const left = x <= EDGE_PX;
  const right = x + w >= widthPx - EDGE_PX;
  const top = y <= EDGE_PX;
  const bottom = y + h >= heightPx - EDGE_PX;
  if (left && !right) x = x + w - side;
  if (left !== right) w = side;
  if (top && !bottom) y = y + h - side;
  if (top !== bottom) h = side;
  return { box: { x, y, w, h }, cut: left || right || top || bottom };
}

/**
 * A head box's floor point: the ray through its centre cut at head height, dropped to the floor.
 * Seen obliquely a head box takes in the side of the head and the shoulders, so its centre sits
 * lower the farther the person stands from the nadir: the plane drops by `dropPerM` per metre
 * (a fixed point, found in a few steps since the drop is small).
 */
export function headFloorPoint(
  camera: CameraModel,
  box: PixelBox,
  headHeightM: number,
  dropPerM = 0,
): Vec2 | null {
  const { u, v } = centre(box);
  let heightM = headHeightM;
  let p = unprojectToPlane(camera, u, v, heightM);
  for (let i = 0; i < 3 && p && dropPerM > 0; i++) {
    const fromNadirM = Math.hypot(p[0] - camera.positionM[0], p[1] - camera.positionM[1]);
    heightM = headHeightM - dropPerM * fromNadirM;
    p = unprojectToPlane(camera, u, v, heightM);
  }
  return p ? [p[0], p[1]] : null;
}

/**
 * How much lower than a standing head (m) a head box's size puts it: the box's size in pixels
 * gives the head's depth from the camera, and so the height where its ray reaches that depth.
 * Noisy (0.11 m median error, 0.25 m at the 90th percentile, on the heads of seeds 3 and 5:
 * benchmarks/accuracy/head-size.ts), but a crouch to a low shelf drops a head 0.8 m.
 */
export function headDropFromSize(
  camera: CameraModel,
  box: PixelBox,
  fromNadirM: number,
  config: FloorConfig,
): number {
  const sizePx = Math.sqrt(box.w * box.h);
  if (!(sizePx > 0)) return 0;
  const depthM = (camera.fxPx * (config.headSizeM + config.headSizePerMetreM * fromNadirM)) / sizePx;
  const { u, v } = centre(box);
  const d = pixelRay(camera, u, v);
  const r = camera.rWorldToCam;
  // Depth runs along the optical axis (the camera's third axis, in world coordinates).
  const along = d[0] * r[6]! + d[1] * r[7]! + d[2] * r[8]!;
  if (!(along > 1e-6)) return 0;
  const zM = camera.positionM[2] + (depthM / along) * d[2];
  return config.standingHeadM - zM;
}

/** Two heads side by side can make one long box, which its size would put near the camera. */
function square(box: PixelBox): boolean {
  return Math.max(box.w, box.h) < 1.3 * Math.min(box.w, box.h);
}

/** Whether a box touches the image border (what lies beyond it was not seen). */
export function cutByBorder(box: PixelBox, widthPx: number, heightPx: number): boolean {
  return (
    box.x <= EDGE_PX ||
    box.y <= EDGE_PX ||
    box.x + box.w >= widthPx - EDGE_PX ||
    box.y + box.h >= heightPx - EDGE_PX
  );
}

/** A person box's point nearest the image centre (where the feet are, seen from above), on the floor. */
export function feetFloorPoint(camera: CameraModel, box: PixelBox): Vec2 | null {
  const u = Math.min(Math.max(camera.cxPx, box.x), box.x + box.w);
  const v = Math.min(Math.max(camera.cyPx, box.y), box.y + box.h);
  const p = unprojectToPlane(camera, u, v, 0);
  return p ? [p[0], p[1]] : null;
}

/** A person box's floor point: its centre's ray at `heightM` (about half a person's height). */
export function personFloorPoint(camera: CameraModel, box: PixelBox, heightM: number): Vec2 | null {
  const { u, v } = centre(box);
  const p = unprojectToPlane(camera, u, v, heightM);
  return p ? [p[0], p[1]] : null;
}

function inside(box: PixelBox, u: number, v: number, marginPx: number): boolean {
  return (
    u >= box.x - marginPx &&
    u <= box.x + box.w + marginPx &&
    v >= box.y - marginPx &&
    v <= box.y + box.h + marginPx
  );
}

/**
 * Pairs each head with the person box that owns it: the smallest person box containing the head's
 * centre, each person box taking at most one head (the highest-scoring). Returns, per person
 * index, its head index or -1.
 */
export function headsOfPersons(
  detections: FrameDetections['detections'],
  marginPx: number,
): Map<number, number> {
  const owner = new Map<number, number>();
  const heads = detections
    .flatMap((d, i) => (d.cls === 'head' ? [i] : []))
    .sort((a, b) => detections[b]!.score - detections[a]!.score);
  for (const h of heads) {
    const { u, v } = centre(detections[h]!.bbox);
    let best = -1;
    let bestArea = Number.POSITIVE_INFINITY;
    for (const [p, d] of detections.entries()) {
      if (d.cls !== 'person' || owner.has(p)) continue;
      const area = d.bbox.w * d.bbox.h;
      if (inside(d.bbox, u, v, marginPx) && area < bestArea) {
        best = p;
        bestArea = area;
      }
    }
    if (best >= 0) owner.set(best, h);
    else owner.set(-1 - h, h); // a head without a person box still stands for someone
  }
  return owner;
}

/** The frame's people as floor observations (persons with or without a head, heads alone). */
export function floorObservations(
  frame: FrameDetections,
  camera: CameraModel,
  config: FloorConfig,
  minScore: number,
): FloorObservation[] {
  const dets = frame.detections;
  const owner = headsOfPersons(dets, config.headInPersonMarginPx);
  const out: FloorObservation[] = [];
  const add = (personIdx: number | null, headIdx: number | null) => {
    const person = personIdx === null ? null : dets[personIdx]!;
    const head = headIdx === null ? null : dets[headIdx]!;
    const score = Math.max(person?.score ?? 0, head?.score ?? 0);
    if (score < minScore) return;
    const headBox = head ? uncutHead(head.bbox, camera.width, camera.height) : null;
    const cut = !headBox && cutByBorder(person!.bbox, camera.width, camera.height);
    const feetXyM = cut ? feetFloorPoint(camera, person!.bbox) : null;
    let xy = headBox
      ? headFloorPoint(camera, headBox.box, config.headHeightM, config.headDropPerM)
      : personFloorPoint(camera, person!.bbox, config.personPointHeightM);
    if (!xy) return;
    let crouchXyM: Vec2 | undefined;
    const readsSize = headBox && !headBox.cut && head!.score >= config.crouchMinScore && square(headBox.box);
    if (readsSize && (config.crouchDropM > 0 || config.crouchPlaceDropM > 0)) {
      const nadirM = Math.hypot(xy[0] - camera.positionM[0], xy[1] - camera.positionM[1]);
      const drop = headDropFromSize(camera, headBox.box, nadirM, config);
      const atDrop = () =>
        headFloorPoint(camera, headBox.box, config.headHeightM - drop, config.headDropPerM);
      if (config.crouchDropM > 0 && drop > config.crouchDropM) xy = atDrop() ?? xy;
      // A head read as standing says so too: the track's reported point comes back to it.
      if (config.crouchPlaceDropM > 0) crouchXyM = (drop > config.crouchPlaceDropM ? atDrop() : null) ?? xy;
    }
    const fromNadirM = Math.hypot(xy[0] - camera.positionM[0], xy[1] - camera.positionM[1]);
    if (fromNadirM > config.maxFromNadirM) return;
    let gradM: Vec2 = [0, 0];
    if (headBox) {
      const planeM = config.headHeightM - config.headDropPerM * fromNadirM;
      const drop = camera.positionM[2] - planeM;
      gradM = [(xy[0] - camera.positionM[0]) / drop, (xy[1] - camera.positionM[1]) / drop];
    }
    const sigma =
      (config.sigmaNadirM + config.sigmaPerMetreM * fromNadirM) * (headBox?.cut ? config.sigmaCutFactor : 1);
    out.push({
      detIndexes: [personIdx, headIdx].filter((i): i is number => i !== null),
      floorXyM: xy,
      gradM,
      sigmaM: head ? sigma : sigma * config.sigmaNoHeadFactor,
      score,
      hasHead: head !== null,
      cut,
      headCut: headBox?.cut ?? false,
      ...(feetXyM ? { feetXyM } : {}),
      ...(crouchXyM ? { crouchXyM } : {}),
      // The re-id model is trusted only on crops that show the head (models/reid/CARD.md).
      embedding: head && personIdx !== null ? (frame.embeddings?.[personIdx] ?? null) : null,
    });
  };
  for (const [i, d] of dets.entries()) {
    if (d.cls !== 'person') continue;
    add(i, owner.get(i) ?? null);
  }
  for (const [key, h] of owner) if (key < 0) add(null, h);
  return out;
}
