/**
 * Keeps the evidence of every resolved weight event: the fusion's resolve trace (the event, its
 * readings, who got it and why) and the JPEG frames around it from the cameras that see its shelf.
 * I/O fed by taps: frames as the loop takes them from the input (`tapFrames`), traces from the
 * fusion's `observe.resolve` hook. The fusion stays pure; the frames are cut from bounded
 * per-camera rings, and written once every chosen camera has sent a frame past the window.
 */
import type { Logger } from '../../platform/log.ts';
import { cameraModel, inImage, project } from '../../proto/layout/projection.ts';
import type { StoreLayout, Vec3 } from '../../proto/layout/schema.ts';
import type { ResolveTrace } from '../fusion/outputs.ts';
import { WrappedInput } from '../io/wrapped-input.ts';
import type { InputSource } from '../stages.ts';
import type { CameraFrame } from '../types.ts';
import type { EvidenceConfig } from './config.ts';
import { FrameRing } from './ring.ts';
import type { EvidenceRecord, EvidenceStore } from './store.ts';

interface Pending {
  record: Omit<EvidenceRecord, 'frames' | 'keptMs'>;
  frames: CameraFrame[];
}

export interface RecorderStats {
  written: number;
  failed: number;
  pending: number;
}

export class EvidenceRecorder {
  private readonly rings = new Map<string, FrameRing>();
  private readonly pending = new Map<string, Pending>();
  private readonly cameras: ReturnType<typeof cameraModel>[];
  private newestMs = 0;
  private writes: Promise<void> = Promise.resolve();
  private readonly counts = { written: 0, failed: 0 };

  constructor(
    private readonly opts: {
      layout: Pick<StoreLayout, 'cameras'>;
      store: EvidenceStore;
      config: EvidenceConfig;
      /** Wall clock: when evidence is kept (retention counts from it). */
      wallMs: () => number;
      log: Logger;
    },
  ) {
    this.cameras = opts.layout.cameras.map(cameraModel);
  }

  onFrame(frame: CameraFrame): void {
    let ring = this.rings.get(frame.cameraId);
    if (!ring) {
      ring = new FrameRing(this.opts.config.ringFrames, this.opts.config.ringBytes);
      this.rings.set(frame.cameraId, ring);
    }
    ring.push(frame);
    this.newestMs = Math.max(this.newestMs, frame.captureMs);
    // Frames after the resolve go straight to the events waiting for them, whatever the ring evicts.
    for (const p of this.pending.values()) {
      const { fromMs, toMs } = p.record.window;
      if (p.record.cameras.includes(frame.cameraId) && frame.captureMs >= fromMs && frame.captureMs <= toMs)
        p.frames.push(frame);
    }
    this.writeDue(false);
  }

  /** The fusion's trace of one resolution (several for an event split by plate). */
  onResolve(trace: ResolveTrace): void {
    const { event, hypotheses, ...resolution } = trace;
    const existing = this.pending.get(event.eventId);
    if (existing) {
      existing.record.resolutions.push(resolution);
      return;
    }
    const fromMs = event.startMs - this.opts.config.beforeMs;
    const toMs = event.settledMs + this.opts.config.afterMs;
    const cameras = this.camerasSeeing(event.positionM);
    const frames = cameras.flatMap((c) => this.rings.get(c)?.between(fromMs, toMs) ?? []);
    this.pending.set(event.eventId, {
      record: {
        eventId: event.eventId,
        event,
        hypotheses,
        resolutions: [resolution],
        window: { fromMs, toMs },
        cameras,
      },
      frames,
    });
    // Written from the next frame on, so every resolution of this event is in its record.
  }

  /** Writes what is waiting with the frames it has, and waits for every write. */
  async flush(): Promise<void> {
    this.writeDue(true);
    await this.writes;
  }

  stats(): RecorderStats {
    return { ...this.counts, pending: this.pending.size };
  }

  /** Cameras whose image holds the event's position; all of them when none does (a layout gap). */
  private camerasSeeing(positionM: Vec3): string[] {
    const seeing = this.cameras.filter((m) => {
      const q = project(m, positionM);
      return q !== null && inImage(m, q);
    });
    return (seeing.length > 0 ? seeing : this.cameras).map((m) => m.id);
  }

  private writeDue(all: boolean): void {
    const grace = this.opts.config.cameraGraceMs;
    for (const [eventId, p] of this.pending) {
      const { toMs } = p.record.window;
      const complete = p.record.cameras.every((c) => (this.rings.get(c)?.newestMs() ?? 0) > toMs);
      if (!all && !complete && this.newestMs <= toMs + grace) continue;
      this.pending.delete(eventId);
      const frames = p.frames.sort(
        (a, b) => a.captureMs - b.captureMs || a.cameraId.localeCompare(b.cameraId),
      );
      const record: EvidenceRecord = {
        ...p.record,
        frames: frames.map((f) => ({
          cameraId: f.cameraId,
          frameIndex: f.frameIndex,
          captureMs: f.captureMs,
          bytes: f.jpeg.byteLength,
        })),
        keptMs: this.opts.wallMs(),
      };
      this.writes = this.writes
        .then(() => this.opts.store.write(record, frames))
        .then(
          () => {
            this.counts.written += 1;
          },
          (err: unknown) => {
            this.counts.failed += 1;
            this.opts.log.error('evidence not kept', { eventId, err: (err as Error).message });
          },
        );
    }
  }
}

/** The input, with every frame the loop takes shown to `onFrame` first. */
export function tapFrames(input: InputSource, onFrame: (frame: CameraFrame) => void): InputSource {
  return new (class extends WrappedInput {
    async next() {
      const step = await this.inner.next();
      if (step?.kind === 'frame') onFrame(step.frame);
      return step;
    }
  })(input);
}
