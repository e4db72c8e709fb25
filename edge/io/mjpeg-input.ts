import { get } from 'node:http';
import type { Logger } from '../../platform/log.ts';
import { MJPEG_BOUNDARY, MjpegReader, WalkoutError } from '../../proto/index.ts';
import type { FrameCounters } from '../stages.ts';
import type { CameraFrame } from '../types.ts';
import { FrameFlow, type FrameFlowConfig } from './frame-flow.ts';
import { DEFAULT_REJECTION_LOG, type RejectionLogConfig, Rejections } from './rejections.ts';

export interface MjpegInputOptions extends FrameFlowConfig {
  log: Logger;
  /** First wait before reconnecting a stream that failed, ms; doubles per failure in a row. */
  reconnectInitialMs?: number;
  /** Longest wait between reconnection attempts, ms. */
  reconnectMaxMs?: number;
  /** A stream that sends nothing for this long is taken for dead and reconnected, ms. */
  stallTimeoutMs?: number;
  /** Wall clock: rate-limits logging. */
  nowMs?: () => number;
  rejectionLog?: RejectionLogConfig;
}

const DEFAULTS = { reconnectInitialMs: 250, reconnectMaxMs: 5_000, stallTimeoutMs: 5_000 };
/** A stream that keeps failing is logged at most this often, ms. */
const STREAM_LOG_PERIOD_MS = 30_000;

/** A camera stream's state, for health reports. */
export interface StreamStatus {
  cameraId: string;
  url: string | null;
  /** Reading now (the camera answered with a stream). */
  connected: boolean;
  /** Connections made so far (the first one included). */
  connections: number;
  /** Failed or broken connections. */
  failures: number;
}

/**
 * Every camera's HTTP MJPEG stream, read as fast as it comes: each part is parsed as it arrives and
 * offered to one FrameFlow (thinning to the detection rate, newest frame wins), so a slow loop
 * loses frames and never lag: what it takes is at most one frame old per camera. A malformed part
 * is counted (FRAME_INVALID), logged and skipped; a stream that fails, ends or stalls is reconnected
 * with backoff; a camera gone offline is not asked again until it is back (`open`).
 */
export class MjpegInput {
  private readonly flow: FrameFlow<CameraFrame>;
  private readonly streams = new Map<string, CameraStream>();
  private readonly rejections: Rejections;
  private readonly listeners: (() => void)[] = [];
  private readonly cfg: typeof DEFAULTS;
  private newestMs: number | null = null;

  constructor(private readonly opts: MjpegInputOptions) {
    this.flow = new FrameFlow(opts);
    this.cfg = { ...DEFAULTS, ...definedOnly(opts) };
    for (const [name, ms] of Object.entries(this.cfg))
      if (!(Number.isFinite(ms) && ms > 0))
        throw new WalkoutError('CONFIG_INVALID', `${name} must be a positive number of ms, not ${ms}`);
    this.rejections = new Rejections(
      opts.log,
      'camera frame',
      opts.nowMs ?? Date.now,
      opts.rejectionLog ?? DEFAULT_REJECTION_LOG,
    );
  }

  /**
   * Reads a camera's stream from `url`: starts it, restarts it at a new URL, or, when it is waiting
   * to reconnect after a failure, tries again at once (the camera says it is back).
   */
  open(cameraId: string, url: string): void {
    this.flow.addCamera(cameraId);
    const running = this.streams.get(cameraId);
    if (running && running.url === url) {
      running.wake();
      return;
    }
    running?.stop();
    const stream = new CameraStream(cameraId, url, {
      ...this.cfg,
      log: this.opts.log.child(cameraId),
      nowMs: this.opts.nowMs ?? Date.now,
      onFrame: (frame) => {
        this.newestMs = Math.max(this.newestMs ?? frame.captureMs, frame.captureMs);
        this.flow.offer(frame);
        for (const l of this.listeners) l();
      },
      onMalformed: (reason) =>
        this.rejections.addCode('FRAME_INVALID', `camera ${cameraId}: ${reason}`, { cameraId }),
    });
    this.streams.set(cameraId, stream);
    stream.start();
  }

  /** Stops reading a camera (it went offline); its counters stay. */
  stop(cameraId: string): void {
    this.streams.get(cameraId)?.stop();
    this.streams.delete(cameraId);
  }

  /** The next camera's newest frame, round-robin, or null when none waits. */
  take(): CameraFrame | null {
    return this.flow.take();
  }

  waiting(): number {
    return this.flow.waiting();
  }

  /** The newest capture time of any camera's frame so far; null before the first. */
  get newestTimeMs(): number | null {
    return this.newestMs;
  }

  /** Called after each frame offered. */
  onFrame(listener: () => void): void {
    this.listeners.push(listener);
  }

  markProcessed(cameraId: string): void {
    this.flow.markProcessed(cameraId);
  }

  counters(): Record<string, FrameCounters> {
    return this.flow.counters();
  }

  rejected(): Record<string, number> {
    return this.rejections.counts();
  }

  status(): StreamStatus[] {
    return [...this.streams.values()].map((s) => s.status());
  }

  async close(): Promise<void> {
    for (const s of this.streams.values()) s.stop();
    this.streams.clear();
  }
}

interface StreamDeps {
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  stallTimeoutMs: number;
  log: Logger;
  nowMs: () => number;
  onFrame(frame: CameraFrame): void;
  onMalformed(reason: string): void;
}

/** One camera's connection, reconnecting until stopped. */
class CameraStream {
  private stopped = false;
  private abort: (() => void) | null = null;
  private wakeUp: (() => void) | null = null;
  private backoffMs: number;
  private connected = false;
  private connections = 0;
  private failures = 0;
  private lastLogMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly cameraId: string,
    readonly url: string,
    private readonly deps: StreamDeps,
  ) {
    this.backoffMs = deps.reconnectInitialMs;
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.();
    this.wakeUp?.();
  }

  /** Ends a wait before reconnecting. */
  wake(): void {
    this.backoffMs = this.deps.reconnectInitialMs;
    this.wakeUp?.();
  }

  status(): StreamStatus {
    const { cameraId, url, connected, connections, failures } = this;
    return { cameraId, url, connected, connections, failures };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.readOnce();
        if (!this.stopped) throw streamFailed(this.cameraId, 'the stream ended');
      } catch (err) {
        if (this.stopped) break;
        this.failures += 1;
        this.logFailure(err as Error);
      }
      this.connected = false;
      await this.sleep(this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, this.deps.reconnectMaxMs);
    }
  }

  /** One connection: resolves when the stream ends, rejects when it fails. */
  private readOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const reader = new MjpegReader({ onMalformed: this.deps.onMalformed });
      // A fresh connection per attempt (no pooled socket a dead camera may have left).
      const req = get(this.url, { agent: false }, (res) => {
        const type = res.headers['content-type'] ?? '';
        if (res.statusCode !== 200 || !type.startsWith('multipart/x-mixed-replace')) {
          res.resume();
          req.destroy();
          reject(streamFailed(this.cameraId, `answered ${res.statusCode} ${type}, not an MJPEG stream`));
          return;
        }
        if (!type.includes(`boundary=${MJPEG_BOUNDARY}`))
          this.deps.log.warn('stream names another boundary; parts are read by ours', { type });
        this.connected = true;
        this.connections += 1;
        res.on('data', (chunk: Buffer) => {
          for (const f of reader.push(chunk)) {
            // Frames flow again: the next failure starts its backoff afresh.
            this.backoffMs = this.deps.reconnectInitialMs;
            this.deps.onFrame({
              cameraId: this.cameraId,
              frameIndex: f.frameIndex,
              captureMs: f.captureTsMs,
              jpeg: f.jpeg,
            });
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
        res.on('close', () => resolve());
      });
      req.setTimeout(this.deps.stallTimeoutMs, () =>
        req.destroy(streamFailed(this.cameraId, `nothing for ${this.deps.stallTimeoutMs} ms`)),
      );
      req.on('error', reject);
      this.abort = () => {
        req.destroy();
        resolve();
      };
    }).finally(() => {
      this.abort = null;
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    }).finally(() => {
      this.wakeUp = null;
    });
  }

  private logFailure(err: Error): void {
    const now = this.deps.nowMs();
    if (now - this.lastLogMs < STREAM_LOG_PERIOD_MS) return;
    this.lastLogMs = now;
    this.deps.log.warn('camera stream failed; reconnecting', {
      url: this.url,
      error: err.message,
      failures: this.failures,
      retryInMs: this.backoffMs,
    });
  }
}

function streamFailed(cameraId: string, why: string): WalkoutError {
  return new WalkoutError('CAMERA_STREAM_FAILED', `camera ${cameraId}: ${why}`, { cameraId });
}

/** Only the timing options that were given, so defaults fill the rest. */
function definedOnly(opts: MjpegInputOptions): Partial<typeof DEFAULTS> {
  const out: Partial<typeof DEFAULTS> = {};
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[])
    if (opts[key] !== undefined) out[key] = opts[key];
  return out;
}
