import { WalkoutError } from '../../proto/index.ts';
import type { FrameCounters } from '../stages.ts';

export interface FrameFlowConfig {
  /**
   * Frames per second each camera hands the detector at most (Frigate's default is 5 of a camera's
   * 10): a camera's frames are thinned at arrival to one per 1000/detectFps ms of capture time. A
   * number for every camera, or per camera id (a camera not named is not thinned); 0 or absent is
   * every frame.
   */
  detectFps?: number | Readonly<Record<string, number>>;
}

/** What a flow needs of a frame; replay passes frames whose JPEG is not read yet. */
export interface FlowFrame {
  cameraId: string;
  captureMs: number;
}

interface Camera<F> {
  counters: FrameCounters;
  /** The newest admitted frame not taken yet: a slot, never a queue. */
  slot: F | null;
  /** Thinning interval of the last admitted frame (floor(captureMs / interval)). */
  lastBucket: number | null;
}

/**
 * The one path every frame takes from its source to the loop, live and replayed: thinning to the
 * detection rate, then newest frame wins, and the counters of both. A camera's frame admitted while
 * an older one still waits replaces it (the older is dropped); the loop takes the waiting frames
 * round-robin over cameras. Invariant per camera: received = processed + dropped + waiting + frames
 * taken and not yet marked.
 *
 * Thinning is by capture time, not arrival, so it is deterministic (the same recording gives the
 * same frames) and exact (10 fps thinned to 5 is every other frame): a frame is admitted when its
 * capture time falls in another interval of the store clock than the last admitted one's.
 */
export class FrameFlow<F extends FlowFrame> {
  private readonly cameras = new Map<string, Camera<F>>();
  private readonly order: string[] = [];
  private cursor = 0;
  private waitingCount = 0;

  constructor(private readonly config: FrameFlowConfig = {}) {
    const rates = typeof config.detectFps === 'object' ? Object.entries(config.detectFps) : [];
    if (typeof config.detectFps === 'number') rates.push(['every camera', config.detectFps]);
    for (const [camera, fps] of rates)
      if (!(Number.isFinite(fps) && fps >= 0))
        throw new WalkoutError('CONFIG_INVALID', `detectFps of ${camera} must be a number >= 0, not ${fps}`);
  }

  /** Makes a camera known (its counters show) before its first frame. */
  addCamera(cameraId: string): void {
    this.camera(cameraId);
  }

  /** A frame arrived; false when it was thinned out (counted as dropped). */
  offer(frame: F): boolean {
    const cam = this.camera(frame.cameraId);
    cam.counters.received += 1;
    const fps = this.detectFps(frame.cameraId);
    if (fps > 0) {
      const bucket = Math.floor((frame.captureMs * fps) / 1000);
      if (bucket === cam.lastBucket) {
        cam.counters.dropped += 1;
        return false;
      }
      cam.lastBucket = bucket;
    }
    if (cam.slot) cam.counters.dropped += 1;
    else this.waitingCount += 1;
    cam.slot = frame;
    return true;
  }

  /** The next camera's waiting frame, round-robin, or null when none waits. */
  take(): F | null {
    if (this.waitingCount === 0) return null;
    for (let i = 0; i < this.order.length; i++) {
      const id = this.order[(this.cursor + i) % this.order.length]!;
      const cam = this.cameras.get(id)!;
      if (!cam.slot) continue;
      const frame = cam.slot;
      cam.slot = null;
      this.waitingCount -= 1;
      this.cursor = (this.cursor + i + 1) % this.order.length;
      return frame;
    }
    return null;
  }

  /** Frames admitted and not taken yet (at most one per camera). */
  waiting(): number {
    return this.waitingCount;
  }

  /** The loop took a camera's frame through the detector. */
  markProcessed(cameraId: string): void {
    this.camera(cameraId).counters.processed += 1;
  }

  /** A frame taken could not be handed on (its JPEG unreadable): dropped. */
  markDropped(cameraId: string): void {
    this.camera(cameraId).counters.dropped += 1;
  }

  counters(): Record<string, FrameCounters> {
    return Object.fromEntries([...this.cameras].map(([id, c]) => [id, { ...c.counters }]));
  }

  private detectFps(cameraId: string): number {
    const fps = this.config.detectFps;
    if (fps === undefined) return 0;
    return typeof fps === 'number' ? fps : (fps[cameraId] ?? 0);
  }

  private camera(cameraId: string): Camera<F> {
    let cam = this.cameras.get(cameraId);
    if (!cam) {
      cam = { counters: { received: 0, processed: 0, dropped: 0 }, slot: null, lastBucket: null };
      this.cameras.set(cameraId, cam);
      this.order.push(cameraId);
    }
    return cam;
  }
}
