/**
 * The simulator and the edge in one process, in lockstep: the simulator's device sink and frame
 * sink hand their traffic to an InputSource the edge loop reads, in the order it was produced
 * (store-clock order), instead of writing gigabytes of frames to disk. Frames are rendered and
 * JPEG-encoded exactly as the live cameras serve them, and thinned to the edge's detection rate
 * before rendering (a frame the edge would skip is never drawn). The simulator waits while the edge
 * is more than `maxQueued` inputs behind. The cameras also keep what they showed for KEEP_MS, as a
 * live camera does, so the edge's second look can read main-stream regions of frames it detected:
 * KEEP_MS before the newest frame the edge has fused, not before the simulator's time, which runs
 * ahead of the edge by how fast the machine is (a look's frame was there or gone with the load).
 * With `render` off, frames go to the edge without pixels, for a detector that does not look at
 * them (recorded-detector.ts); main-stream regions are still drawn for the second look.
 */

import type { EdgeInput, FrameCounters, InputSource } from '../../edge/stages.ts';
import type { CameraFrame } from '../../edge/types.ts';
import type { MainStreams } from '../../edge/vision/second-look.ts';
import { WalkoutError } from '../../proto/errors.ts';
import { decodeMessage, isWalkoutError, REGION_JPEG_QUALITY } from '../../proto/index.ts';
import type { DeviceSink } from '../../simulator/io/device-sink.ts';
import { KEEP_MS } from '../../simulator/io/frame-sinks.ts';
import { createRenderer } from '../../simulator/render/renderer.ts';
import type { Engine, FrameDue } from '../../simulator/run/engine.ts';
import type { FrameSink } from '../../simulator/run/runner.ts';
import type { Person } from '../../simulator/world/types.ts';

const NO_PIXELS = new Uint8Array(0);

export class LockstepInput implements InputSource {
  private readonly queue: EdgeInput[] = [];
  private waiting: ((i: EdgeInput | null) => void) | null = null;
  private drained: (() => void)[] = [];
  private ended = false;
  private readonly perCamera = new Map<string, FrameCounters>();
  private readonly refused: Record<string, number> = {};
  /** Capture time of the newest frame the edge has fused (its loop's `onDetections`). */
  fusedMs = 0;

  constructor(private readonly maxQueued = 400) {}

  push(input: EdgeInput): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(input);
    } else this.queue.push(input);
  }

  /** The device traffic exactly as a broker would carry it: topic and JSON text, decoded here. */
  pushDevice(topic: string, text: string, tsMs: number): void {
    try {
      this.push({ kind: 'device', message: decodeMessage(topic, text), tsMs });
    } catch (err) {
      const code = isWalkoutError(err) ? err.code : 'INTERNAL';
      this.refused[code] = (this.refused[code] ?? 0) + 1;
    }
  }

  pushFrame(frame: CameraFrame): void {
    this.counter(frame.cameraId).received += 1;
    this.push({ kind: 'frame', frame });
  }

  /** Resolves when the edge has caught up to within `maxQueued` inputs. */
  async caughtUp(): Promise<void> {
    if (this.queue.length <= this.maxQueued) return;
    await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  end(): void {
    this.ended = true;
    if (this.waiting && this.queue.length === 0) {
      const w = this.waiting;
      this.waiting = null;
      w(null);
    }
  }

  async next(): Promise<EdgeInput | null> {
    const input = this.queue.shift();
    if (this.queue.length <= this.maxQueued / 2 && this.drained.length > 0) {
      for (const d of this.drained.splice(0)) d();
    }
    if (input) return input;
    if (this.ended) return null;
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  counters(): Record<string, FrameCounters> {
    return Object.fromEntries(this.perCamera);
  }

  markProcessed(cameraId: string): void {
    this.counter(cameraId).processed += 1;
  }

  rejected(): Record<string, number> {
    return { ...this.refused };
  }

  async close(): Promise<void> {
    this.end();
  }

  counter(cameraId: string): FrameCounters {
    let c = this.perCamera.get(cameraId);
    if (!c) {
      c = { received: 0, processed: 0, dropped: 0 };
      this.perCamera.set(cameraId, c);
    }
    return c;
  }
}

/** The simulator's devices, publishing into the lockstep input. */
export function lockstepDevices(input: LockstepInput): DeviceSink {
  let published = 0;
  return {
    publish(m) {
      published += 1;
      input.pushDevice(m.topic, JSON.stringify(m.payload), m.tsMs);
    },
    get published() {
      return published;
    },
    async close() {},
  };
}

/**
 * The simulator's cameras, drawing only the frames the edge will detect (`detectFps` a camera, by
 * the same rule as the live input's thinning: a frame is taken when at least 1/detectFps has passed
 * since the camera's last taken frame).
 */
export function lockstepFrames(
  engine: Engine,
  input: LockstepInput,
  detectFps: number,
  render = true,
): FrameSink & { mainStreams: MainStreams } {
  const { layout, catalog, scenario, seed } = engine.options;
  const renderer = createRenderer({
    layout,
    catalog,
    seed,
    lightingVariation: scenario.cameras.lightingVariation,
    noiseSd: scenario.cameras.noiseSd,
  });
  const lastTaken = new Map<string, number>();
  // What each taken frame showed, for main-stream regions: the people as drawn (the world
  // mutates its people in place), one copy per delivery, kept KEEP_MS of capture time.
  const kept: { tsMs: number; frames: Map<string, number>; persons: Person[] }[] = [];
  const resolution = new Map(layout.cameras.map((c) => [c.id, c.resolution]));
  // A renderer of its own: the frames' renderer reuses its buffers between render() calls.
  const regions = createRenderer({
    layout,
    catalog,
    seed,
    lightingVariation: scenario.cameras.lightingVariation,
    noiseSd: scenario.cameras.noiseSd,
  });
  const mainStreams: MainStreams = (cameraId, frameIndex) => {
    const size = resolution.get(cameraId);
    if (!size) return null;
    return {
      width: size.width,
      height: size.height,
      async region(region, scale) {
        const moment = kept.findLast((k) => k.frames.get(cameraId) === frameIndex);
        if (!moment || moment.tsMs < input.fusedMs - KEEP_MS)
          throw new WalkoutError(
            'FRAME_GONE',
            `camera ${cameraId} keeps ${KEEP_MS} ms; frame ${frameIndex} is gone`,
          );
        const r = regions.renderRegion(cameraId, moment.persons, moment.tsMs, frameIndex, region, scale);
        return regions.encodeJpeg(r.rgb, r.width, r.height, REGION_JPEG_QUALITY);
      },
    };
  };
  const gapMs = 1000 / detectFps - 1;
  let frames = 0;
  return {
    async deliver(due: readonly FrameDue[], persons: readonly Person[]) {
      const taken = due.filter((d) => {
        const last = lastTaken.get(d.cameraId);
        if (last !== undefined && d.tsMs - last < gapMs) {
          input.counter(d.cameraId).received += 1;
          input.counter(d.cameraId).dropped += 1;
          return false;
        }
        lastTaken.set(d.cameraId, d.tsMs);
        return true;
      });
      if (taken.length > 0) {
        kept.push({
          tsMs: taken[0]!.tsMs,
          frames: new Map(taken.map((d) => [d.cameraId, d.frameIndex])),
          persons: structuredClone(persons.filter((p) => p.present)),
        });
        while (kept.length > 0 && kept[0]!.tsMs < input.fusedMs - KEEP_MS) kept.shift();
      }
      const encoded = await Promise.all(
        taken.map(async (d) => {
          if (!render) return { d, jpeg: NO_PIXELS };
          const r = renderer.render(d.cameraId, persons, d.tsMs, d.frameIndex);
          return { d, jpeg: await renderer.encodeJpeg(r.rgb, r.width, r.height) };
        }),
      );
      for (const { d, jpeg } of encoded) {
        frames += 1;
        input.pushFrame({ cameraId: d.cameraId, frameIndex: d.frameIndex, captureMs: d.tsMs, jpeg });
      }
      await input.caughtUp();
    },
    get frames() {
      return frames;
    },
    mainStreams,
    async close() {},
  };
}
