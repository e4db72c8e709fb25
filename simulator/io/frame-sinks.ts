import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createRenderer } from '../render/renderer.ts';
import type { FrameLabels } from '../render/types.ts';
import type { Engine, FrameDue } from '../run/engine.ts';
import type { FrameSink } from '../run/runner.ts';
import { createMotWriter } from '../truth/mot.ts';
import type { Person } from '../world/types.ts';
import type { CameraServer } from './camera-server.ts';

interface Encoded {
  due: FrameDue;
  jpeg: Buffer;
  labels: FrameLabels;
}

/**
 * Renders the frames that are due and hands each JPEG with its labels to `deliver`; labels also go
 * to the MOTChallenge ground truth under {out}/truth/mot.
 */
function cameraPipeline(
  engine: Engine,
  out: string,
  deliver: (frame: Encoded) => void,
  onClose: () => void = () => {},
): FrameSink {
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
      const rendered = due.map((d) => ({ d, r: renderer.render(d.cameraId, persons, d.tsMs, d.frameIndex) }));
      const encoded = await Promise.all(
        rendered.map(async ({ d, r }) => ({
          due: d,
          jpeg: await renderer.encodeJpeg(r.rgb, r.width, r.height),
          labels: r.labels,
        })),
      );
      for (const e of encoded) {
        mot.add(e.due.cameraId, e.due.frameIndex, e.labels);
        deliver(e);
        frames += 1;
      }
    },
    get frames() {
      return frames;
    },
    async close() {
      mot.write(join(out, 'truth'));
      onClose();
    },
  };
}

/** Live: frames go to the MJPEG server. */
export function createLiveFrames(opts: { engine: Engine; server: CameraServer; out: string }): FrameSink {
  return cameraPipeline(opts.engine, opts.out, (f) =>
    opts.server.publish(f.due.cameraId, {
      jpeg: f.jpeg,
      captureTsMs: f.due.tsMs,
      frameIndex: f.due.frameIndex,
    }),
  );
}

/**
 * Recording: {dir}/frames/{cameraId}/{frameIndex}.jpg, and one line of labels per frame in
 * {dir}/frames/{cameraId}/labels.jsonl (capture time, boxes, SKUs) for training and replay.
 */
export function createRecordedFrames(opts: { engine: Engine; dir: string; out: string }): FrameSink {
  const fds = new Map<string, number>();
  for (const cam of opts.engine.options.layout.cameras) {
    const camDir = join(opts.dir, 'frames', cam.id);
    mkdirSync(camDir, { recursive: true });
    fds.set(cam.id, openSync(join(camDir, 'labels.jsonl'), 'w'));
  }
  return cameraPipeline(
    opts.engine,
    opts.out,
    (f) => {
      const name = `${String(f.due.frameIndex).padStart(6, '0')}.jpg`;
      writeFileSync(join(opts.dir, 'frames', f.due.cameraId, name), f.jpeg);
      writeSync(fds.get(f.due.cameraId)!, `${JSON.stringify({ file: name, ...f.labels })}\n`);
    },
    () => {
      for (const fd of fds.values()) closeSync(fd);
    },
  );
}
