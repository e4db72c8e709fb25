import { WalkoutError } from '../../proto/errors.ts';
import { boxToSource, decodeYolo } from './decode.ts';
import { nmsPerClass } from './nms.ts';
import type { InputTransform, PixelBox, RawImage } from './preprocess.ts';

/**
 * The second look at a hand, pure: which detections to look at, what a held-item model's window
 * output means, and how answers from overlapping windows merge. The overhead detector proposes
 * hands and items; the held-item model looks at a window centred on each, cut from the same frame or
 * read from the camera's finer main stream, and boxes the item that touches the centre
 * (models/train/held_item.py).
 */

/** An item found in one proposal's window, in source pixels. */
export interface HeldItem {
  /** Index of the proposal whose window found it. */
  proposal: number;
  score: number;
  bbox: PixelBox;
}

/**
 * Which detections get a second look, and how much the detector's confidence in the proposal
 * counts in the item's score (item score × proposal score ^ proposalWeight). Measured on the
 * validation split with one trial model: proposals from 0.1 gave item AP 0.448 with 37 windows a
 * frame, from 0.2 0.445 with 16, from 0.3 0.431 with 9; with another, a weight of 0.5 beat 0
 * (0.357) and 1 (0.437). The false proposals are what the weight discounts.
 */
export const HELD_ITEM_PROPOSALS = { classes: ['hand', 'item'], minScore: 0.2, proposalWeight: 0.5 } as const;

interface Proposal {
  cls: string;
  score: number;
  bbox: PixelBox;
}

/** The detections worth a second look; the windows are centred on their boxes. */
export function heldItemProposals<D extends Proposal>(
  detections: readonly D[],
  minScore: number = HELD_ITEM_PROPOSALS.minScore,
  classes: readonly string[] = HELD_ITEM_PROPOSALS.classes,
): D[] {
  return detections.filter((d) => d.score >= minScore && classes.includes(d.cls));
}

/**
 * Where a held-item model looks for a proposal: a square of `sidePx` detect-stream pixels centred
 * on the pixel nearest (cx, cy), read at `scale` main-stream pixels per detect-stream pixel. Only
 * the part inside the frame is read (a real camera has nothing beyond its edge); the rest of the
 * window is padding, as in training. The origin is whole detect-stream pixels, so the window's
 * pixel grid is the main stream's.
 */
export interface HeldItemWindow {
  /** The whole window, in detect-stream pixels; may reach past the frame. */
  window: PixelBox;
  /** The part of the window inside the frame, what is read; null when none is. */
  inFrame: PixelBox | null;
  /** Main-stream pixels per detect-stream pixel; the model's input is sidePx × scale square. */
  scale: number;
}

export function heldItemWindow(
  cx: number,
  cy: number,
  sidePx: number,
  scale: number,
  frame: { width: number; height: number },
): HeldItemWindow {
  const x = Math.round(cx) - Math.floor(sidePx / 2);
  const y = Math.round(cy) - Math.floor(sidePx / 2);
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(frame.width, x + sidePx);
  const y1 = Math.min(frame.height, y + sidePx);
  const inFrame = x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : null;
  return { window: { x, y, w: sidePx, h: sidePx }, inFrame, scale };
}

/**
 * The model's input for a window: `part` (what was read for `w.inFrame`, inFrame × scale pixels)
 * placed in a padValue square of window × scale pixels.
 */
export function padWindow(part: RawImage | null, w: HeldItemWindow, padValue: number): Uint8Array {
  const side = Math.round(w.window.w * w.scale);
  const out = new Uint8Array(side * side * 3).fill(padValue);
  if (!w.inFrame || !part) return out;
  const pw = Math.round(w.inFrame.w * w.scale);
  const ph = Math.round(w.inFrame.h * w.scale);
  if (part.width !== pw || part.height !== ph)
    throw new WalkoutError(
      'IMAGE_INVALID',
      `a window region of ${w.inFrame.w}×${w.inFrame.h} px at scale ${w.scale} must be ${pw}×${ph}, got ${part.width}×${part.height}`,
      { region: w.inFrame, scale: w.scale },
    );
  const ox = Math.round((w.inFrame.x - w.window.x) * w.scale);
  const oy = Math.round((w.inFrame.y - w.window.y) * w.scale);
  for (let y = 0; y < ph; y++)
    out.set(part.rgb.subarray(y * pw * 3, (y + 1) * pw * 3), ((oy + y) * side + ox) * 3);
  return out;
}

/** Maps the model's window pixels back to detect-stream pixels. */
export function windowTransform(w: HeldItemWindow): InputTransform {
  return { scaleX: w.scale, scaleY: w.scale, padX: 0, padY: 0, offsetX: w.window.x, offsetY: w.window.y };
}

/** Distance from a point to a box (0 inside it). */
export function distanceToBox(x: number, y: number, b: PixelBox): number {
  const dx = Math.max(0, b.x - x, x - b.x - b.w);
  const dy = Math.max(0, b.y - y, y - b.y - b.h);
  return Math.hypot(dx, dy);
}

export interface HeldItemDecode {
  scoreThreshold: number;
  nmsIou: number;
  reachPx: number;
  /** Window side in pixels (the model's input). */
  windowPx: number;
}

/**
 * One window's output ([1, 5, anchors], YOLOv8 layout with one class) to the items within reach of
 * its centre, best first, in pixels of the width × height source (`t` maps window pixels back),
 * clipped to it.
 */
export function decodeHeldItem(
  output: Float32Array,
  dims: readonly number[],
  opts: HeldItemDecode,
  t: InputTransform,
  width: number,
  height: number,
): Omit<HeldItem, 'proposal'>[] {
  const c = opts.windowPx / 2;
  const found: Omit<HeldItem, 'proposal'>[] = [];
  for (const b of decodeYolo(output, dims, {
    classes: 1,
    transposed: false,
    logits: false,
    scoreThreshold: opts.scoreThreshold,
    nmsIou: opts.nmsIou,
    maxDetections: 5,
  })) {
    if (distanceToBox(c, c, b) > opts.reachPx) continue;
    const bbox = boxToSource(b, t, width, height);
    if (bbox) found.push({ score: b.score, bbox });
  }
  return found;
}

/**
 * The frame's held items, one box per item: each found item scored with its proposal's score
 * (a window centred on a shelf product the detector barely believed in finds that product), then
 * merged across windows, since a hand and the item it holds are both proposals and find the same
 * item.
 */
export function heldItemDetections(
  proposals: readonly { score: number }[],
  found: readonly HeldItem[],
  nmsIou: number,
  proposalWeight: number = HELD_ITEM_PROPOSALS.proposalWeight,
): HeldItem[] {
  const boxes = found.map((it, i) => ({
    classIndex: 0,
    score: it.score * (proposals[it.proposal]?.score ?? 0) ** proposalWeight,
    ...it.bbox,
    i,
  }));
  return nmsPerClass(boxes, nmsIou, boxes.length).map((b) => ({
    ...found[(b as (typeof boxes)[number]).i]!,
    score: b.score,
  }));
}
