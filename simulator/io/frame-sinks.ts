import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  frameFileName,
  type MjpegFrame,
  REGION_JPEG_QUALITY,
  type RecordedFrame,
  recordingPaths,
  WalkoutError,
} from '../../proto/index.ts';
import { createRenderer, type Renderer } from '../render/renderer.ts';
import type { FrameLabels } from '../render/types.ts';
import type { Engine, FrameDue } from '../run/engine.ts';
import type { FrameSink } from '../run/runner.ts';
import { createMotWriter } from '../truth/mot.ts';
import type { Person } from '../world/types.ts';
import type { CameraServer, RegionSource } from './camera-server.ts';

interface Encoded {
  due: FrameDue;
  jpeg: Buffer;
  labels: FrameLabels;
}

/** How long a camera keeps what it saw, for region requests: capture time, in ms. */
export const KEEP_MS = 3000;
/** And at most this many deliveries, whatever the frame rates (the engine steps every 50 ms). */
const KEEP_MAX = 80;

/** The people as they were when one delivery's frames were captured. */
interface Moment {
  tsMs: number;
  /** The frame each camera captured at this moment. */
  frames: Map<string, number>;
  persons: Person[];
}

/**
 * What the cameras saw over the last KEEP_MS, to draw main-stream regions of frames already
 * delivered: one snapshot of the people per delivery (cameras due together share it).
 */
class Memory {
  private readonly moments: Moment[] = [];
  private readonly latest = new Map<string, number>();

  /** One copy of the people for all the frames due now (the world mutates its people in place). */
  static snapshot(due: readonly FrameDue[], persons: readonly Person[]): Moment | null {
    if (due.length === 0) return null;
    return {
      tsMs: due[0]!.tsMs,
      frames: new Map(due.map((d) => [d.cameraId, d.frameIndex])),
      // Only the present are drawn.
      persons: structuredClone(persons.filter((p) => p.present)),
    };
  }

  /** Makes a snapshot's frames available: call before they are published. */
  keep(moment: Moment): void {
    this.moments.push(moment);
    for (const [cameraId, frameIndex] of moment.frames) this.latest.set(cameraId, frameIndex);
    while (
      this.moments.length > KEEP_MAX ||
      (this.moments.length > 1 && this.moments[0]!.tsMs < moment.tsMs - KEEP_MS)
    )
      this.moments.shift();
  }

  /** The moment of a camera's frame (its latest when null), or the coded reason there is none. */
  find(cameraId: string, frameIndex: number | null): { moment: Moment; frameIndex: number } {
    const latest = this.latest.get(cameraId);
    if (latest === undefined)
      throw new WalkoutError('NO_FRAME_YET', `camera ${cameraId} has not delivered a frame yet`, {
        cameraId,
      });
    const wanted = frameIndex ?? latest;
    if (wanted > latest)
      throw new WalkoutError(
        'NOT_FOUND',
        `camera ${cameraId} has not delivered frame ${wanted} (latest ${latest})`,
        {
          cameraId,
          frameIndex: wanted,
          latest,
        },
      );
    for (let i = this.moments.length - 1; i >= 0; i--) {
      const moment = this.moments[i]!;
      if (moment.frames.get(cameraId) === wanted) return { moment, frameIndex: wanted };
    }
    throw new WalkoutError(
      'FRAME_GONE',
      `camera ${cameraId} keeps ${KEEP_MS} ms of frames; frame ${wanted} is older (latest ${latest})`,
      { cameraId, frameIndex: wanted, latest },
    );
  }
}

/** Main-stream regions of remembered frames, drawn by the renderer that drew the frames. */
function regionSource(renderer: Renderer, memory: Memory): RegionSource {
  return {
    async render(cameraId, frameIndex, region, scale) {
      renderer.model(cameraId); // CAMERA_UNKNOWN before anything else
      const { moment, frameIndex: index } = memory.find(cameraId, frameIndex);
      const r = renderer.renderRegion(cameraId, moment.persons, moment.tsMs, index, region, scale);
      const jpeg = await renderer.encodeJpeg(r.rgb, r.width, r.height, REGION_JPEG_QUALITY);
      return { jpeg, captureTsMs: moment.tsMs, frameIndex: index } satisfies MjpegFrame;
    },
  };
}

/**
 * Renders the frames that are due and hands each JPEG with its labels to `deliver`; labels also go
 * to the MOTChallenge ground truth under {out}/truth/mot. With a `memory`, each delivery's people
 * are kept before its frames go out, so a region of any frame a client has received is available.
 */
function cameraPipeline(
  engine: Engine,
  out: string,
  deliver: (frame: Encoded) => void,
  onClose: () => void = () => {},
  memory: Memory | null = null,
): FrameSink & { renderer: Renderer } {
  const { layout, catalog, scenario, seed } = engine.options;
  const renderer = createRenderer({
    layout,
    catalog,
    seed,
    lightingVariation: scenario.cameras.lightingVariation,
    noiseSd: scenario.cameras.noiseSd,
  });
  const mot = createMotWriter(layout.cameras);
  let frames = 0;
  return {
    async deliver(due: readonly FrameDue[], persons: readonly Person[]) {
      // Render now (the world moves on after this step); encode on libvips' threads in parallel.
      const moment = memory ? Memory.snapshot(due, persons) : null;
      const rendered = due.map((d) => ({ d, r: renderer.render(d.cameraId, persons, d.tsMs, d.frameIndex) }));
      const encoded = await Promise.all(
        rendered.map(async ({ d, r }) => ({
          due: d,
          jpeg: await renderer.encodeJpeg(r.rgb, r.width, r.height),
          labels: r.labels,
        })),
      );
      if (memory && moment) memory.keep(moment);
      for (const e of encoded) {
        mot.add(e.due.cameraId, e.due.frameIndex, e.labels);
        deliver(e);
        frames += 1;
      }
    },
    renderer,
    get frames() {
      return frames;
    },
    async close() {
      mot.write(join(out, 'truth'));
      onClose();
    },
  };
}

export interface LiveFrames extends FrameSink {
  /** Main-stream regions of the frames delivered over the last KEEP_MS, for the camera server. */
  readonly regions: RegionSource;
}

/** Live: frames go to the MJPEG server, and the people they show are kept for region requests. */
export function createLiveFrames(opts: { engine: Engine; server: CameraServer; out: string }): LiveFrames {
  const memory = new Memory();
  const pipeline = cameraPipeline(
    opts.engine,
    opts.out,
    (f) =>
      opts.server.publish(f.due.cameraId, {
        jpeg: f.jpeg,
        captureTsMs: f.due.tsMs,
        frameIndex: f.due.frameIndex,
      }),
    undefined,
    memory,
  );
  const regions = regionSource(pipeline.renderer, memory);
  return {
    deliver: (due, persons) => pipeline.deliver(due, persons),
    get frames() {
      return pipeline.frames;
    },
    close: () => pipeline.close(),
    regions,
  };
}

/**
 * Recording: {dir}/frames/{cameraId}/{frameIndex}.jpg with {dir}/frames/{cameraId}/index.jsonl
 * (per frame what its stream part's headers say: frame index and capture time, nothing else), and
 * one line of labels per frame (capture time, boxes, SKUs) for training and scoring in
 * {dir}/truth/frames/{cameraId}/labels.jsonl: ground truth, apart from what a replay reads.
 */
export function createRecordedFrames(opts: { engine: Engine; dir: string; out: string }): FrameSink {
  const index = new Map<string, number>();
  const labels = new Map<string, number>();
  for (const cam of opts.engine.options.layout.cameras) {
    mkdirSync(join(opts.dir, 'frames', cam.id), { recursive: true });
    mkdirSync(join(opts.dir, 'truth', 'frames', cam.id), { recursive: true });
    index.set(cam.id, openSync(join(opts.dir, recordingPaths.frameIndex(cam.id)), 'w'));
    labels.set(cam.id, openSync(join(opts.dir, recordingPaths.frameLabels(cam.id)), 'w'));
  }
  return cameraPipeline(
    opts.engine,
    opts.out,
    (f) => {
      const { cameraId, frameIndex, tsMs } = f.due;
      writeFileSync(join(opts.dir, recordingPaths.frame(cameraId, frameIndex)), f.jpeg);
      const line: RecordedFrame = { frameIndex, captureMs: tsMs };
      writeSync(index.get(cameraId)!, `${JSON.stringify(line)}\n`);
      writeSync(
        labels.get(cameraId)!,
        `${JSON.stringify({ file: frameFileName(frameIndex), ...f.labels })}\n`,
      );
    },
    () => {
      for (const fd of [...index.values(), ...labels.values()]) closeSync(fd);
    },
  );
}
