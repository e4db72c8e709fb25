import sharp from 'sharp';
import { WalkoutError } from '../../proto/errors.ts';

/**
 * Turning images into model inputs. The dataset builder and the loader both go through these
 * functions, so a model sees at inference exactly the pixels it was trained on.
 */

/** Interleaved 8-bit RGB. */
export interface RawImage {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** A pixel box: left, top, width, height. */
export interface PixelBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** How input pixels map back to the source image: srcX = offsetX + (inX - padX) / scaleX. */
export interface InputTransform {
  scaleX: number;
  scaleY: number;
  padX: number;
  padY: number;
  offsetX: number;
  offsetY: number;
}

export type Fit = 'letterbox' | 'stretch';

export async function decodeJpeg(jpeg: Uint8Array): Promise<RawImage> {
  try {
    const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels`);
    return {
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    throw new WalkoutError('IMAGE_INVALID', `image could not be decoded: ${(err as Error).message}`);
  }
}

export function checkRaw(img: RawImage): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1)
    throw new WalkoutError(
      'IMAGE_INVALID',
      `image size ${img.width}×${img.height} is not a positive integer size`,
    );
  if (img.rgb.length !== img.width * img.height * 3)
    throw new WalkoutError(
      'IMAGE_INVALID',
      `image has ${img.rgb.length} bytes, expected ${img.width * img.height * 3} for ${img.width}×${img.height} RGB`,
    );
}

/** The box clamped to the image and rounded outwards to whole pixels; null if nothing is left. */
export function clampBox(box: PixelBox, width: number, height: number): PixelBox | null {
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(width, Math.ceil(box.x + box.w));
  const y1 = Math.min(height, Math.ceil(box.y + box.h));
  if (x1 - x0 < 1 || y1 - y0 < 1) return null;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/**
 * The region `box` of `img` (the whole image when null) resized to width × height, as
 * interleaved RGB, with the transform back to source pixels.
 */
export async function cropResize(
  img: RawImage,
  box: PixelBox | null,
  width: number,
  height: number,
  fit: Fit,
  padValue = 114,
): Promise<{ hwc: Uint8Array; transform: InputTransform }> {
  checkRaw(img);
  const region = box ? clampBox(box, img.width, img.height) : { x: 0, y: 0, w: img.width, h: img.height };
  if (!region)
    throw new WalkoutError(
      'IMAGE_INVALID',
      `box ${JSON.stringify(box)} lies outside the ${img.width}×${img.height} image`,
    );
  const whole = region.x === 0 && region.y === 0 && region.w === img.width && region.h === img.height;
  if (whole && region.w === width && region.h === height)
    return { hwc: img.rgb, transform: { scaleX: 1, scaleY: 1, padX: 0, padY: 0, offsetX: 0, offsetY: 0 } };
  let pipeline = sharp(img.rgb, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (!whole)
    pipeline = pipeline.extract({ left: region.x, top: region.y, width: region.w, height: region.h });
  let transform: InputTransform;
  if (fit === 'stretch') {
    pipeline = pipeline.resize(width, height, { fit: 'fill' });
    transform = {
      scaleX: width / region.w,
      scaleY: height / region.h,
      padX: 0,
      padY: 0,
      offsetX: region.x,
      offsetY: region.y,
    };
  } else {
    const scale = Math.min(width / region.w, height / region.h);
    const nw = Math.max(1, Math.round(region.w * scale));
    const nh = Math.max(1, Math.round(region.h * scale));
    const padX = Math.floor((width - nw) / 2);
    const padY = Math.floor((height - nh) / 2);
    pipeline = pipeline.resize(nw, nh, { fit: 'fill' }).extend({
      left: padX,
      right: width - nw - padX,
      top: padY,
      bottom: height - nh - padY,
      background: { r: padValue, g: padValue, b: padValue },
    });
    transform = {
      scaleX: nw / region.w,
      scaleY: nh / region.h,
      padX,
      padY,
      offsetX: region.x,
      offsetY: region.y,
    };
  }
  const data = await pipeline.raw().toBuffer();
  return { hwc: new Uint8Array(data.buffer, data.byteOffset, data.length), transform };
}

/**
 * The size × size window of `img` centred on the pixel nearest (cx, cy), at the image's own
 * resolution, `padValue` outside the image. No resampling, so training code can cut the same
 * window with plain array slicing.
 */
export function windowAt(
  img: RawImage,
  cx: number,
  cy: number,
  size: number,
  padValue = 114,
): { hwc: Uint8Array; transform: InputTransform } {
  checkRaw(img);
  const x0 = Math.round(cx) - Math.floor(size / 2);
  const y0 = Math.round(cy) - Math.floor(size / 2);
  const hwc = new Uint8Array(size * size * 3).fill(padValue);
  const sx0 = Math.max(0, x0);
  const sx1 = Math.min(img.width, x0 + size);
  for (let y = Math.max(0, y0); y < Math.min(img.height, y0 + size); y++) {
    if (sx1 <= sx0) break;
    const src = (y * img.width + sx0) * 3;
    hwc.set(img.rgb.subarray(src, src + (sx1 - sx0) * 3), ((y - y0) * size + (sx0 - x0)) * 3);
  }
  return { hwc, transform: { scaleX: 1, scaleY: 1, padX: 0, padY: 0, offsetX: x0, offsetY: y0 } };
}

/** Interleaved RGB to planar, normalised floats, written into `out` (reused between calls). */
export function toTensor(
  hwc: Uint8Array,
  width: number,
  height: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  out: Float32Array,
): Float32Array {
  const plane = width * height;
  if (out.length !== plane * 3 || hwc.length !== plane * 3)
    throw new WalkoutError(
      'IMAGE_INVALID',
      `tensor of ${out.length} for ${hwc.length} bytes of ${width}×${height}`,
    );
  const [m0, m1, m2] = mean;
  const s0 = 1 / std[0];
  const s1 = 1 / std[1];
  const s2 = 1 / std[2];
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[i] = (hwc[p]! - m0) * s0;
    out[plane + i] = (hwc[p + 1]! - m1) * s1;
    out[2 * plane + i] = (hwc[p + 2]! - m2) * s2;
  }
  return out;
}

/** Maps a box in model-input pixels back to source-image pixels. */
export function toSource(box: PixelBox, t: InputTransform): PixelBox {
  return {
    x: t.offsetX + (box.x - t.padX) / t.scaleX,
    y: t.offsetY + (box.y - t.padY) / t.scaleY,
    w: box.w / t.scaleX,
    h: box.h / t.scaleY,
  };
}
