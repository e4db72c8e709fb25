/**
 * Camera stream contract. Every camera serves, over plain HTTP:
 *   GET {base}/cameras/{cameraId}/stream.mjpeg  multipart/x-mixed-replace of JPEG frames
 *   GET {base}/cameras/{cameraId}/snapshot.jpg  the latest frame
 * Each frame (each part, and the snapshot response) carries its capture time in the header
 * X-Capture-Time-Ms (epoch ms of the store clock) and its sequence number in X-Frame-Index,
 * because the edge fuses frames with weight events by time, not by arrival.
 */
export const MJPEG_BOUNDARY = 'walkoutframe';
export const HEADER_CAPTURE_TIME = 'x-capture-time-ms';
export const HEADER_FRAME_INDEX = 'x-frame-index';

export const cameraPaths = {
  stream: (cameraId: string) => `/cameras/${encodeURIComponent(cameraId)}/stream.mjpeg`,
  snapshot: (cameraId: string) => `/cameras/${encodeURIComponent(cameraId)}/snapshot.jpg`,
  index: () => '/cameras',
} as const;

export interface MjpegFrame {
  jpeg: Buffer;
  captureTsMs: number;
  frameIndex: number;
}

/** The bytes that introduce one part; the JPEG and a CRLF follow. */
export function partHeader(frame: { jpeg: Buffer; captureTsMs: number; frameIndex: number }): Buffer {
  return Buffer.from(
    `--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.jpeg.length}\r\n` +
      `X-Capture-Time-Ms: ${frame.captureTsMs}\r\nX-Frame-Index: ${frame.frameIndex}\r\n\r\n`,
  );
}

/**
 * Incremental reader of a multipart/x-mixed-replace body. Feed it chunks as they arrive; it
 * returns the frames completed so far. Relies on Content-Length, which our cameras always send.
 */
export class MjpegReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): MjpegFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: MjpegFrame[] = [];
    for (;;) {
      const headerEnd = this.buf.indexOf('\r\n\r\n');
      if (headerEnd < 0) break;
      const head = this.buf.subarray(0, headerEnd).toString('latin1');
      const headers = new Map<string, string>();
      for (const line of head.split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const length = Number(headers.get('content-length'));
      if (!Number.isInteger(length) || length < 0)
        throw new Error(`MJPEG part without a valid Content-Length: ${head}`);
      const start = headerEnd + 4;
      if (this.buf.length < start + length) break;
      frames.push({
        jpeg: Buffer.from(this.buf.subarray(start, start + length)),
        captureTsMs: Number(headers.get(HEADER_CAPTURE_TIME)),
        frameIndex: Number(headers.get(HEADER_FRAME_INDEX)),
      });
      this.buf = this.buf.subarray(start + length);
      // Skip the CRLF between the JPEG and the next boundary line.
      while (this.buf.length > 0 && (this.buf[0] === 0x0d || this.buf[0] === 0x0a))
        this.buf = this.buf.subarray(1);
    }
    return frames;
  }
}
