import sharp from 'sharp';

// One libvips worker thread: eight cameras must encode in real time on a single core, and a pool
// of threads per encode only adds contention.
sharp.concurrency(1);

/** Encodes a packed RGB frame as a baseline JPEG. */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality = 80): Promise<Buffer> {
  const input = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return sharp(input, { raw: { width, height, channels: 3 } })
    .jpeg({ quality, optimiseCoding: false })
    .toBuffer();
}
