/**
 * The arm-link model's input: the frame sampled along the line from a hand towards a head, at the
 * frame's own resolution, so that an arm joining the two lies along the strip's middle row. Whose
 * hand it is cannot be read from boxes in an overhead view: an arm reaching into a shelf leaves its
 * body's box, and a neighbour's box often holds it (edge/tracking/hands.ts). The arm itself shows.
 */
import { WalkoutError } from '../../proto/errors.ts';
import type { RawImage } from './preprocess.ts';

/** A hand and a head, by their centres in frame pixels. */
export interface ArmPair {
  hand: readonly [number, number];
  head: readonly [number, number];
}

/** The farthest a head may lie from the hand (pixels) and still show on a strip, with a margin for its own pixels. */
export function armReachPx(width: number, handAtPx: number): number {
  return width - handAtPx - 8;
}

/**
 * width × height × RGB: strip pixel (i, j) is the frame at hand + (i − handAtPx)·u + (j − height/2)·v,
 * u the unit vector towards the head and v its normal; bilinear, `padValue` outside the frame.
 */
export function armStrip(
  img: RawImage,
  pair: ArmPair,
  width: number,
  height: number,
  handAtPx: number,
  padValue = 114,
): Uint8Array {
  const [hx, hy] = pair.hand;
  const [gx, gy] = pair.head;
  if (![hx, hy, gx, gy].every(Number.isFinite))
    throw new WalkoutError('IMAGE_INVALID', 'an arm pair needs finite hand and head points', { pair });
  const len = Math.hypot(gx - hx, gy - hy);
  // A head on the hand has no direction: any will do.
  const ux = len > 1e-6 ? (gx - hx) / len : 1;
  const uy = len > 1e-6 ? (gy - hy) / len : 0;
  const { rgb, width: fw, height: fh } = img;
  const out = new Uint8Array(width * height * 3);
  for (let j = 0; j < height; j++) {
    const b = j - height / 2;
    for (let i = 0; i < width; i++) {
      const a = i - handAtPx;
      const x = hx + a * ux - b * uy;
      const y = hy + a * uy + b * ux;
      const o = (j * width + i) * 3;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      if (x0 < 0 || y0 < 0 || x0 + 1 >= fw || y0 + 1 >= fh) {
        out[o] = out[o + 1] = out[o + 2] = padValue;
        continue;
      }
      const fx = x - x0;
      const fy = y - y0;
      const p00 = (y0 * fw + x0) * 3;
      const p01 = p00 + fw * 3;
      for (let c = 0; c < 3; c++) {
        const top = rgb[p00 + c]! * (1 - fx) + rgb[p00 + 3 + c]! * fx;
        const bottom = rgb[p01 + c]! * (1 - fx) + rgb[p01 + 3 + c]! * fx;
        out[o + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}
