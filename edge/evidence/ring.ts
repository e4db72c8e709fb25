import type { CameraFrame } from '../types.ts';

/**
 * The latest frames of one camera, bounded by count and by bytes: the evidence of a weight event
 * is cut from here once the frames after it have come. Frames arrive in capture order per camera
 * (the input never reorders a camera's frames), so the oldest is always at the head.
 */
export class FrameRing {
  private readonly frames: CameraFrame[] = [];
  private bytes = 0;

  constructor(
    private readonly maxFrames: number,
    private readonly maxBytes: number,
  ) {}

  push(frame: CameraFrame): void {
    // A frame that is a view into a bigger buffer (a stream chunk) would hold all of it alive.
    const jpeg =
      frame.jpeg.byteLength === frame.jpeg.buffer.byteLength ? frame.jpeg : Uint8Array.from(frame.jpeg);
    this.frames.push({ ...frame, jpeg });
    this.bytes += jpeg.byteLength;
    while (this.frames.length > this.maxFrames || (this.bytes > this.maxBytes && this.frames.length > 1)) {
      this.bytes -= this.frames.shift()!.jpeg.byteLength;
    }
  }

  /** Capture time of the newest frame (0 before any). */
  newestMs(): number {
    return this.frames.at(-1)?.captureMs ?? 0;
  }

  /** Frames captured in [fromMs, toMs]. */
  between(fromMs: number, toMs: number): CameraFrame[] {
    return this.frames.filter((f) => f.captureMs >= fromMs && f.captureMs <= toMs);
  }

  get size(): { frames: number; bytes: number } {
    return { frames: this.frames.length, bytes: this.bytes };
  }
}
