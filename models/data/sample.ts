import { REGION_JPEG_QUALITY } from '../../proto/index.ts';
import type { Rng } from '../../simulator/core/rng.ts';
import type { Renderer } from '../../simulator/render/renderer.ts';
import type { BBox, Label } from '../../simulator/render/types.ts';
import type { ItemUnit, Person } from '../../simulator/world/types.ts';
import { itemCropRegion } from '../runtime/crops.ts';
import { cropResize, decodeJpeg, type RawImage } from '../runtime/preprocess.ts';

/** What one camera frame contributes: the frame as the edge receives it, and its exact labels. */
export interface SampledFrame {
  cameraId: string;
  image: RawImage;
  labels: Label[];
}

export const DETECTOR_CLASSES = ['person', 'head', 'hand', 'item'] as const;
/** A person crop for re-identification must show enough of the person to be recognisable. */
export const REID_MIN_VISIBILITY = 0.6;
export const REID_MIN_SIDE_PX = 16;
/**
 * Re-id is trained and scored on crops that also show the head: a person half out of the frame can
 * be 60 % visible and show only legs, which ten trouser colours cannot tell apart, and the edge
 * tracks heads. The other crops are kept for a second score over every view.
 */
export const REID_MIN_HEAD_VISIBILITY = 0.5;

/**
 * Shoppers hold items only briefly between shelf and basket, so natural frames show few. Copies of
 * the people with a random product in some empty hands give the models every SKU in every pose.
 */
export function withHeldItems(
  persons: readonly Person[],
  rng: Rng,
  skus: readonly string[],
  share: number,
  tag: string,
): Person[] {
  return persons.map((p) => {
    if (!p.present) return p;
    const hands = p.hands.map((h, i) => {
      if (h.holding.length > 0 || !rng.chance(share)) return h;
      const unit: ItemUnit = { itemId: `${tag}-${p.personId}-${i}`, sku: rng.pick(skus), weightG: 0 };
      return { ...h, holding: [unit] };
    }) as Person['hands'];
    return { ...p, hands };
  });
}

/** What the camera shows of a labelled object; the dataset's renderer computes it for every label. */
export function shownBox(l: Label): BBox {
  if (!l.visibleBox)
    throw new Error(`${l.kind} ${l.personId} has no visibleBox: create the renderer with visibleBoxes: true`);
  return l.visibleBox;
}

/** Renders a frame and passes it through the camera's JPEG, as the edge would receive it. */
export async function cameraFrame(
  renderer: Renderer,
  cameraId: string,
  persons: readonly Person[],
  tsMs: number,
  frameIndex: number,
): Promise<SampledFrame> {
  const frame = renderer.render(cameraId, persons, tsMs, frameIndex);
  const labels = frame.labels.labels;
  const jpeg = await renderer.encodeJpeg(frame.rgb, frame.width, frame.height);
  return { cameraId, image: await decodeJpeg(jpeg), labels };
}

/**
 * Person crops (the visible box, as a detector draws it) at the embedding model's input size, with
 * the person each shows and whether their head is in view (see REID_MIN_HEAD_VISIBILITY).
 */
export async function personCrops(
  frame: SampledFrame,
  size: number,
): Promise<{ personId: string; hwc: Uint8Array; headInView: boolean }[]> {
  const out: { personId: string; hwc: Uint8Array; headInView: boolean }[] = [];
  const heads = new Set(
    frame.labels
      .filter((l) => l.kind === 'head' && l.visibility >= REID_MIN_HEAD_VISIBILITY)
      .map((l) => l.personId),
  );
  for (const l of frame.labels) {
    if (l.kind !== 'person' || l.visibility < REID_MIN_VISIBILITY) continue;
    const box = shownBox(l);
    if (box.w < REID_MIN_SIDE_PX || box.h < REID_MIN_SIDE_PX) continue;
    const { hwc } = await cropResize(frame.image, box, size, size, 'stretch');
    out.push({ personId: l.personId, hwc: Uint8Array.from(hwc), headInView: heads.has(l.personId) });
  }
  return out;
}

/**
 * The classifier's view of a held item: the main-stream region the edge would request for the
 * item's detect-stream box. `jitter` moves and resizes the box as an imperfect detector would.
 */
export async function itemCrop(
  renderer: Renderer,
  cameraId: string,
  persons: readonly Person[],
  tsMs: number,
  frameIndex: number,
  item: Label,
  size: number,
  rng: Rng,
  jitter: number,
): Promise<Uint8Array> {
  const b = shownBox(item);
  const k = 1 + rng.range(-jitter, jitter);
  const w = b.w * k;
  const h = b.h * k;
  const box = {
    x: b.x + b.w / 2 - w / 2 + rng.range(-jitter, jitter) * w,
    y: b.y + b.h / 2 - h / 2 + rng.range(-jitter, jitter) * h,
    w,
    h,
  };
  const { region, scale } = itemCropRegion(box, size);
  const frame = renderer.renderRegion(cameraId, persons, tsMs, frameIndex, region, scale);
  const jpeg = await renderer.encodeJpeg(frame.rgb, frame.width, frame.height, REGION_JPEG_QUALITY);
  const img = await decodeJpeg(jpeg);
  const { hwc } = await cropResize(img, null, size, size, 'stretch');
  return Uint8Array.from(hwc);
}

/** Items in hands that the detect stream shows well enough to classify. */
export function visibleItems(labels: readonly Label[], minVisibility: number, minSidePx: number): Label[] {
  return labels.filter((l) => {
    if (l.kind !== 'item' || l.sku === undefined || l.visibility < minVisibility) return false;
    const { w, h } = shownBox(l);
    return Math.max(w, h) >= minSidePx;
  });
}
