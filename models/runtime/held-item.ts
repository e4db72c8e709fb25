import { boxToSource, decodeYolo } from './decode.ts';
import { nmsPerClass } from './nms.ts';
import type { InputTransform, PixelBox } from './preprocess.ts';

/**
 * The second look at a hand, pure: which detections to look at, what a held-item model's window
 * output means, and how answers from overlapping windows merge. The overhead detector proposes
 * hands and items; the held-item model looks at a window of the same frame centred on each and
 * boxes the item that touches the centre (models/train/held_item.py).
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
