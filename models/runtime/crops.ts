import { MAIN_STREAM_SCALE } from '../../proto/camera/stream.ts';
import type { PixelBox } from './preprocess.ts';

/**
 * Where the classifier looks: a square around an item box found on the detect stream, sized from
 * the item so that the item fills about 40 % of the crop whatever its distance from the camera,
 * and read from the camera's high-resolution main stream at the scale that makes it `inputPx`
 * wide. Training crops are cut by this function, so the edge must ask for the same region.
 */
export const ITEM_CROP = {
  /** Crop side as a multiple of the item box's longer side. */
  sideOverItem: 2.5,
  /** Bounds on the crop side in detect-stream pixels. */
  minSidePx: 16,
  maxSidePx: 40,
  /** How much finer the main stream is than the detect stream (2560×1920 over 640×480), per proto. */
  mainStreamScale: MAIN_STREAM_SCALE,
} as const;

export interface ItemCrop {
  /** In detect-stream pixels. */
  region: PixelBox;
  /** Main-stream pixels per detect-stream pixel for this crop, at most ITEM_CROP.mainStreamScale. */
  scale: number;
}

export function itemCropRegion(item: PixelBox, inputPx: number): ItemCrop {
  const side = Math.min(
    ITEM_CROP.maxSidePx,
    Math.max(ITEM_CROP.minSidePx, ITEM_CROP.sideOverItem * Math.max(item.w, item.h)),
  );
  const cx = item.x + item.w / 2;
  const cy = item.y + item.h / 2;
  return {
    region: { x: cx - side / 2, y: cy - side / 2, w: side, h: side },
    scale: Math.min(ITEM_CROP.mainStreamScale, inputPx / side),
  };
}
