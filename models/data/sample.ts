import { REGION_JPEG_QUALITY } from '../../proto/index.ts';
import type { Rng } from '../../simulator/core/rng.ts';
import type { Renderer } from '../../simulator/render/renderer.ts';
import type { Label } from '../../simulator/render/types.ts';
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

/** Person crops at the embedding model's input size, with the person each one shows. */
export async function personCrops(
  frame: SampledFrame,
  size: number,
): Promise<{ personId: string; hwc: Uint8Array }[]> {
  const out: { personId: string; hwc: Uint8Array }[] = [];
  for (const l of frame.labels) {
    if (l.kind !== 'person' || l.visibility < REID_MIN_VISIBILITY) continue;
    if (l.bbox.w < REID_MIN_SIDE_PX || l.bbox.h < REID_MIN_SIDE_PX) continue;
    const { hwc } = await cropResize(frame.image, l.bbox, size, size, 'stretch');
    out.push({ personId: l.personId, hwc: Uint8Array.from(hwc) });
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
  const b = item.bbox;
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
  return labels.filter(
    (l) =>
      l.kind === 'item' &&
      l.sku !== undefined &&
      l.visibility >= minVisibility &&
      Math.max(l.bbox.w, l.bbox.h) >= minSidePx,
  );
}
