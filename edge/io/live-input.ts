import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { Logger } from '../../platform/log.ts';
import { type DeviceStatus, WalkoutError } from '../../proto/index.ts';
import type { EdgeInput, FrameCounters, InputSource } from '../stages.ts';
import { MjpegInput, type MjpegInputOptions, type StreamStatus } from './mjpeg-input.ts';
import { MqttInput, type MqttInputOptions } from './mqtt-input.ts';
import { sumCounts } from './rejections.ts';

export interface LiveInputOptions {
  /** The broker, the edge's login and its fixed client id (see MqttInputOptions). */
  mqtt: Omit<MqttInputOptions, 'log' | 'nowMs' | 'onCameraStatus'>;
  /** Detection rate per camera and stream timing (see MjpegInputOptions). */
  cameras?: Omit<MjpegInputOptions, 'log' | 'nowMs'> & {
    /** Streams to read from the start, by camera id, besides those cameras announce. */
    streams?: Readonly<Record<string, string>>;
    /** Read the streams cameras announce in their retained status (`streamUrl`); default true. */
    discover?: boolean;
  };
  log: Logger;
  /** Wall clock: rate-limits logging, times how long a status waits for a store time. */
  nowMs?: () => number;
  /**
   * A device status carries no time, and is stamped with the store's newest time (of any message
   * or frame). One that arrives before the store has told any time (the retained statuses, on
   * connecting) waits for one this long at most, ms, and is then stamped with the wall clock: the
   * store clock need not be the edge's (a simulator's is not), and a status stamped with the wall
   * clock would put the loop's time far from the store's.
   */
  untimedHoldMs?: number;
  /**
   * Longest run of inputs handed out without letting the process read its sockets, ms. A loop whose
   * every step is synchronous would otherwise starve I/O while work waits, and fall behind.
   */
  yieldEveryMs?: number;
}

const DEFAULT_YIELD_EVERY_MS = 20;
const DEFAULT_UNTIMED_HOLD_MS = 2_000;

/**
 * The store live: device messages from the broker and frames from every camera's stream, as one
 * InputSource. Device messages go first (cheap and time-critical: a scan waits at the gate), in
 * the order the broker delivered them; then the newest waiting frame, round-robin over cameras.
 * Frames never queue: each camera holds one (see FrameFlow), so when the CPU is short the loop
 * detects fewer frames and its lag stays the time of one step.
 */
export class LiveInput implements InputSource {
  private waiters: (() => void)[] = [];
  private closed = false;
  private lastYieldMs = performance.now();
  /** Wall time since which the status at the head of the queue waits for a store time. */
  private holdingSinceMs: number | null = null;
  private holdTimer: NodeJS.Timeout | null = null;
  private readonly yieldEveryMs: number;
  private readonly untimedHoldMs: number;
  private readonly nowMs: () => number;

  constructor(
    private readonly messages: MqttInput,
    private readonly frames: MjpegInput,
    opts: Pick<LiveInputOptions, 'yieldEveryMs' | 'untimedHoldMs' | 'nowMs'> = {},
  ) {
    this.yieldEveryMs = opts.yieldEveryMs ?? DEFAULT_YIELD_EVERY_MS;
    this.untimedHoldMs = opts.untimedHoldMs ?? DEFAULT_UNTIMED_HOLD_MS;
    this.nowMs = opts.nowMs ?? Date.now;
    checkTiming(opts);
    messages.onMessage(() => this.wake());
    frames.onFrame(() => this.wake());
  }

  async next(): Promise<EdgeInput | null> {
    for (;;) {
      if (this.closed) return null;
      if (performance.now() - this.lastYieldMs > this.yieldEveryMs) {
        await yieldToIo();
        this.lastYieldMs = performance.now();
        if (this.closed) return null;
      }
      const device = this.nextMessage();
      if (device) return device;
      const frame = this.frames.take();
      if (frame) return { kind: 'frame', frame };
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.lastYieldMs = performance.now();
    }
  }

  counters(): Record<string, FrameCounters> {
    return this.frames.counters();
  }

  markProcessed(cameraId: string): void {
    this.frames.markProcessed(cameraId);
  }

  /** Device messages and camera frames refused, by code (FRAME_INVALID: malformed stream parts). */
  rejected(): Record<string, number> {
    return sumCounts(this.messages.rejected(), this.frames.rejected());
  }

  /** Device messages waiting for the loop: grows only while the loop is slower than the devices. */
  pendingMessages(): number {
    return this.messages.pending;
  }

  /** The newest store time any message or frame told so far (the store's clock as the edge knows it). */
  storeTimeMs(): number | null {
    const known = [this.messages.newestTimeMs, this.frames.newestTimeMs].filter((t) => t !== null);
    return known.length > 0 ? Math.max(...known) : null;
  }

  /** Frames admitted and not taken yet: at most one per camera, whatever the loop's pace. */
  waitingFrames(): number {
    return this.frames.waiting();
  }

  brokerConnected(): boolean {
    return this.messages.connected;
  }

  streams(): StreamStatus[] {
    return this.frames.status();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.wake();
    await Promise.all([this.messages.close(), this.frames.close()]);
  }

  /** The oldest message with its time, unless it is a status still waiting for a store time. */
  private nextMessage(): EdgeInput | null {
    const m = this.messages.peek();
    if (!m) return null;
    let tsMs = m.tsMs ?? this.storeTimeMs();
    if (tsMs === null) {
      const now = this.nowMs();
      this.holdingSinceMs ??= now;
      const leftMs = this.holdingSinceMs + this.untimedHoldMs - now;
      if (leftMs > 0) {
        this.holdTimer ??= setTimeout(() => {
          this.holdTimer = null;
          this.wake();
        }, leftMs);
        return null;
      }
      tsMs = now;
    }
    this.holdingSinceMs = null;
    this.messages.take();
    return { kind: 'device', message: m.message, tsMs };
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Connects the live input: camera streams given and, unless `discover` is false, those cameras
 * announce (a camera going offline is no longer asked; back online, it is read again at once).
 * Resolves once subscribed to the store's topics; rejects when the broker refuses the login.
 */
export async function connectLiveInput(opts: LiveInputOptions): Promise<LiveInput> {
  checkTiming(opts); // before anything connects
  const { streams = {}, discover = true, ...frameOpts } = opts.cameras ?? {};
  const frames = new MjpegInput({ ...frameOpts, log: opts.log.child('cameras'), nowMs: opts.nowMs });
  for (const [cameraId, url] of Object.entries(streams)) frames.open(cameraId, url);
  const onCameraStatus = (s: DeviceStatus) => {
    if (!discover || s.deviceId in streams) return;
    if (s.status === 'online' && s.streamUrl) frames.open(s.deviceId, s.streamUrl);
    else if (s.status === 'offline') frames.stop(s.deviceId);
  };
  let messages: MqttInput;
  try {
    messages = await MqttInput.connect({
      ...opts.mqtt,
      log: opts.log.child('mqtt'),
      nowMs: opts.nowMs,
      onCameraStatus,
    });
  } catch (err) {
    await frames.close();
    throw err;
  }
  return new LiveInput(messages, frames, opts);
}

function checkTiming(opts: Pick<LiveInputOptions, 'yieldEveryMs' | 'untimedHoldMs'>): void {
  for (const name of ['yieldEveryMs', 'untimedHoldMs'] as const) {
    const ms = opts[name];
    if (ms !== undefined && !(Number.isFinite(ms) && ms >= 0))
      throw new WalkoutError('CONFIG_INVALID', `${name} must be a number of ms >= 0, not ${ms}`);
  }
}
