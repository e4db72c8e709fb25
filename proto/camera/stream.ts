import { z } from 'zod';
import { WalkoutError } from '../errors.ts';
import { describeIssues, formatIssues } from '../validate.ts';

/**
 * Camera stream contract. Every camera serves, over plain HTTP:
 *   GET {base}/cameras/{cameraId}/stream.mjpeg  multipart/x-mixed-replace of JPEG frames
 *   GET {base}/cameras/{cameraId}/snapshot.jpg  the latest frame
 *   GET {base}/cameras/{cameraId}/region.jpg?x=&y=&w=&h=&scale=&frame=
 *                                               part of a frame from the high-resolution main stream
 * Each frame (each part, and the snapshot response) carries its capture time in the header
 * X-Capture-Time-Ms (epoch ms of the store clock) and its sequence number in X-Frame-Index,
 * because the edge fuses frames with weight events by time, not by arrival.
 *
 * The MJPEG stream is the camera's low-resolution detect stream. Like a real IP camera, each camera
 * also has a main stream MAIN_STREAM_SCALE times finer (2560×1920 over 640×480), which nobody
 * streams: the edge asks for the small piece it needs (an item in a hand, for the classifier) of a
 * frame it has already received. region.jpg takes, in detect-stream pixels (fractions allowed), the
 * window x, y, w, h, and `scale` main-stream pixels per detect-stream pixel in (0, MAIN_STREAM_SCALE];
 * the JPEG (quality REGION_JPEG_QUALITY) is round(w·scale) × round(h·scale), at most MAX_REGION_PX a
 * side, and the window must overlap the frame. `frame` is the X-Frame-Index of a recent frame
 * (default: the latest); the response carries that frame's X-Capture-Time-Ms and X-Frame-Index.
 * Errors, as JSON { error: { code, message, parameter? } }: 400 BAD_REQUEST naming the parameter,
 * 404 CAMERA_UNKNOWN (NOT_FOUND for a frame not delivered yet), 410 FRAME_GONE (older than the
 * camera keeps, about 3 s), 503 NO_FRAME_YET (with Retry-After).
 */
export const MJPEG_BOUNDARY = 'walkoutframe';
export const HEADER_CAPTURE_TIME = 'x-capture-time-ms';
export const HEADER_FRAME_INDEX = 'x-frame-index';

export const cameraPaths = {
  stream: (cameraId: string) => `/cameras/${encodeURIComponent(cameraId)}/stream.mjpeg`,
  snapshot: (cameraId: string) => `/cameras/${encodeURIComponent(cameraId)}/snapshot.jpg`,
  /** Without its query: add regionSearch(request). */
  region: (cameraId: string) => `/cameras/${encodeURIComponent(cameraId)}/region.jpg`,
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

/** Longest part header accepted: a camera's is some 150 bytes; more means the stream is out of step. */
export const MAX_PART_HEADER_BYTES = 8 * 1024;
/** Largest part accepted: a detect-stream JPEG is some 50 kB; a longer Content-Length is garbage. */
export const MAX_PART_BYTES = 8 * 1024 * 1024;

export interface MjpegReaderOptions {
  /**
   * Told of each malformed part, which is then skipped: the reader finds the next boundary and reads
   * on. Without it a malformed part throws (a test of a well-behaved server wants to know).
   */
  onMalformed?: (reason: string) => void;
}

/** A decimal number as a header or a query parameter writes it. */
const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i;

const BOUNDARY_LINE = Buffer.from(`--${MJPEG_BOUNDARY}`);

/**
 * Incremental reader of a multipart/x-mixed-replace body. Feed it chunks as they arrive; it
 * returns the frames completed so far. Relies on Content-Length, which our cameras always send.
 * A part is malformed when its header does not open with the boundary, has no Content-Length (or
 * one beyond MAX_PART_BYTES), no whole-number X-Frame-Index or non-negative X-Capture-Time-Ms, or
 * its body is not a JPEG from start (FF D8) to end (FF D9), which a wrong Content-Length gives.
 */
export class MjpegReader {
  private buf: Buffer = Buffer.alloc(0);
  /** After a malformed part: looking for the next boundary line, reporting nothing more until then. */
  private resyncing = false;

  constructor(private readonly opts: MjpegReaderOptions = {}) {}

  push(chunk: Buffer): MjpegFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: MjpegFrame[] = [];
    for (;;) {
      if (this.resyncing) {
        const next = this.buf.indexOf(BOUNDARY_LINE);
        if (next < 0) {
          // Keep a tail that may be the start of a boundary line.
          this.buf = this.buf.subarray(Math.max(0, this.buf.length - BOUNDARY_LINE.length + 1));
          break;
        }
        this.buf = this.buf.subarray(next);
        this.resyncing = false;
      }
      // Skip the CRLFs between a part and the next boundary line (and a preamble's).
      let lead = 0;
      while (lead < this.buf.length && (this.buf[lead] === 0x0d || this.buf[lead] === 0x0a)) lead++;
      if (lead > 0) this.buf = this.buf.subarray(lead);
      const headerEnd = this.buf.indexOf('\r\n\r\n');
      if (headerEnd < 0) {
        if (this.buf.length > MAX_PART_HEADER_BYTES)
          this.malformed(`no end of part header in ${MAX_PART_HEADER_BYTES} bytes`);
        else break;
        continue;
      }
      if (!this.buf.subarray(0, BOUNDARY_LINE.length).equals(BOUNDARY_LINE)) {
        this.malformed(`part does not open with --${MJPEG_BOUNDARY}`);
        continue;
      }
      const head = this.buf.subarray(0, headerEnd).toString('latin1');
      const headers = new Map<string, string>();
      for (const line of head.split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const lengthText = headers.get('content-length') ?? '';
      const length = /^\d{1,10}$/.test(lengthText) ? Number(lengthText) : Number.NaN;
      if (!(length <= MAX_PART_BYTES)) {
        this.malformed(`part without a valid Content-Length (${JSON.stringify(lengthText)})`);
        continue;
      }
      const start = headerEnd + 4;
      if (this.buf.length < start + length) break;
      const jpeg = Buffer.from(this.buf.subarray(start, start + length));
      this.buf = this.buf.subarray(start + length);
      const captureTsMs = headerNumber(headers.get(HEADER_CAPTURE_TIME));
      const frameIndex = headerNumber(headers.get(HEADER_FRAME_INDEX));
      const problem = !(Number.isFinite(captureTsMs) && captureTsMs >= 0)
        ? `X-Capture-Time-Ms ${JSON.stringify(headers.get(HEADER_CAPTURE_TIME))} is not a time`
        : !(Number.isSafeInteger(frameIndex) && frameIndex >= 0)
          ? `X-Frame-Index ${JSON.stringify(headers.get(HEADER_FRAME_INDEX))} is not a whole number`
          : !isJpeg(jpeg)
            ? `body of ${length} bytes is not a JPEG (frame ${frameIndex})`
            : null;
      if (problem) this.skip(problem);
      else frames.push({ jpeg, captureTsMs, frameIndex });
    }
    return frames;
  }

  /** Reports a part whose bytes are consumed already. */
  private skip(reason: string): void {
    if (!this.opts.onMalformed) throw new Error(`malformed MJPEG part: ${reason}`);
    this.opts.onMalformed(reason);
  }

  /** Reports a part and drops everything up to the next boundary line. */
  private malformed(reason: string): void {
    this.skip(reason);
    this.buf = this.buf.subarray(1);
    this.resyncing = true;
  }
}

/** A header's decimal number; NaN when absent, empty or not a number (Number('') would be 0). */
function headerNumber(text: string | undefined): number {
  return text !== undefined && DECIMAL.test(text) ? Number(text) : Number.NaN;
}

/** A whole JPEG opens with SOI (FF D8) and closes with EOI (FF D9). */
export function isJpeg(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9;
}

/** Main-stream pixels per detect-stream pixel at most: 2560×1920 over 640×480. */
export const MAIN_STREAM_SCALE = 4;
/** Longest side of a region response in pixels. */
export const MAX_REGION_PX = 256;
/** JPEG quality of region responses (the classifier's training crops are encoded the same way). */
export const REGION_JPEG_QUALITY = 90;

/** What the edge asks a camera for: a window of a detect-stream frame, read from the main stream. */
export interface RegionRequest {
  /** Left, top, width and height in detect-stream pixels. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Main-stream pixels per detect-stream pixel, in (0, MAIN_STREAM_SCALE]. */
  scale: number;
  /** X-Frame-Index of the frame to read; the latest when left out. */
  frame?: number | undefined;
}

/** A query parameter given exactly once: absent is undefined, repeated is an array. */
function once(name: string, what: string) {
  return z.string({
    error: (iss) =>
      iss.input === undefined ? `${name} is required (${what})` : `${name} must be given only once`,
  });
}

function decimal(name: string, what: string) {
  return once(name, what)
    .regex(DECIMAL, { error: `${name} must be a number (${what})` })
    .transform(Number)
    .pipe(z.number({ error: `${name} must be a finite number (${what})` }));
}

/**
 * The query of region.jpg: parameters as strings (a repeated one as an array), parsed to a
 * RegionRequest. Each issue's path is the parameter at fault.
 */
export const RegionQuery = z
  .object({
    x: decimal('x', 'left edge in detect-stream pixels'),
    y: decimal('y', 'top edge in detect-stream pixels'),
    w: decimal('w', 'width in detect-stream pixels').pipe(z.number().gt(0, { error: 'w must be > 0' })),
    h: decimal('h', 'height in detect-stream pixels').pipe(z.number().gt(0, { error: 'h must be > 0' })),
    scale: decimal('scale', 'main-stream pixels per detect-stream pixel').pipe(
      z
        .number()
        .gt(0, { error: `scale must be in (0, ${MAIN_STREAM_SCALE}]` })
        .lte(MAIN_STREAM_SCALE, { error: `scale must be in (0, ${MAIN_STREAM_SCALE}]` }),
    ),
    frame: once('frame', 'an X-Frame-Index')
      .regex(/^\d{1,15}$/, { error: 'frame must be a whole number (an X-Frame-Index)' })
      .transform(Number)
      .optional(),
  })
  .superRefine((q, ctx) => {
    // Runs even when a field failed above; size only what is otherwise valid, to name one fault once.
    if (!(q.scale > 0 && q.scale <= MAIN_STREAM_SCALE)) return;
    const size = regionSize(q);
    for (const [side, px] of [
      ['w', size.width],
      ['h', size.height],
    ] as const) {
      if (!(q[side] > 0)) continue;
      if (px < 1) ctx.addIssue({ code: 'custom', path: [side], message: `${side}·scale rounds to 0 pixels` });
      else if (px > MAX_REGION_PX)
        ctx.addIssue({
          code: 'custom',
          path: [side],
          message: `${side}·scale is ${px} pixels, more than ${MAX_REGION_PX}`,
        });
    }
  }) satisfies z.ZodType<RegionRequest, Record<string, string | string[] | undefined>>;

/** Output size of a region in pixels: what the camera's renderer (and the edge) must agree on. */
export function regionSize(req: Pick<RegionRequest, 'w' | 'h' | 'scale'>): { width: number; height: number } {
  return { width: Math.round(req.w * req.scale), height: Math.round(req.h * req.scale) };
}

/**
 * Parses the query of a region request. Throws WalkoutError BAD_REQUEST whose message names every
 * bad parameter and whose details.parameter is the first of them.
 */
export function parseRegionQuery(search: URLSearchParams | string): RegionRequest {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  const raw: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    raw[key] = all.length === 1 ? all[0]! : all;
  }
  const result = RegionQuery.safeParse(raw);
  if (result.success) return result.data;
  const issues = describeIssues(result.error);
  throw new WalkoutError('BAD_REQUEST', `region query: ${formatIssues(issues)}`, {
    parameter: issues[0]!.field,
    issues,
  });
}

/** The query string (with its `?`) that asks for `req`; numbers are sent exactly as given. */
export function regionSearch(req: RegionRequest): string {
  const q = new URLSearchParams({
    x: String(req.x),
    y: String(req.y),
    w: String(req.w),
    h: String(req.h),
    scale: String(req.scale),
  });
  if (req.frame !== undefined) q.set('frame', String(req.frame));
  return `?${q}`;
}
