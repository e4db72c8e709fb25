/**
 * The edge's tracks written as MOTChallenge files while it runs (`--mot DIR`; format in mot.ts):
 *
 *   DIR/{cameraId}.txt   per camera, one line per person box the tracker assigned to a track, at the
 *                        camera's X-Frame-Index (only the frames the edge detected have lines)
 *   DIR/floor.txt        the floor plane at `floorHz`: every confirmed track at each tick
 *   DIR/floor.json       { originMs, floorHz, matchDistanceM }: how a floor frame maps to store time,
 *                        frame = round((tMs − originMs) · floorHz / 1000) + 1, to align the truth
 *
 * Fed by the fusion's tracker tap (wiring.ts `observe.tracked`), after each frame's update. A floor
 * tick is written once a frame at or after it has been tracked, with the tracks carried to the tick.
 */
import { createWriteStream, mkdirSync, type WriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameDetections, Track } from '../types.ts';
import { floorFrame, motCameraLines, motFloorLines } from './mot.ts';

/** Floor ticks a second: the simulator's truth positions are at its cameras' 10 Hz. */
export const MOT_FLOOR_HZ = 10;
/** The match distance the floor files are meant to be scored with (issue 19). */
export const MOT_MATCH_DISTANCE_M = 0.5;

export class MotFiles {
  private readonly files = new Map<string, WriteStream>();
  private originMs: number | null = null;
  private nextTickMs = 0;

  constructor(
    private readonly dir: string,
    private readonly floorHz = MOT_FLOOR_HZ,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  tracked(
    frame: FrameDetections,
    update: { personTrack: readonly (string | null)[] },
    tracksAt: (tsMs: number) => Track[],
  ): void {
    const camera = motCameraLines(frame.frameIndex, frame.detections, update.personTrack);
    if (camera.length > 0) this.file(`${frame.cameraId}.txt`).write(`${camera.join('\n')}\n`);
    if (this.originMs === null) {
      // The floor clock starts at the first frame's whole second, so runs of one recording align.
      this.originMs = Math.floor(frame.captureMs / 1000) * 1000;
      this.nextTickMs = this.originMs;
      writeFileSync(
        join(this.dir, 'floor.json'),
        `${JSON.stringify({ originMs: this.originMs, floorHz: this.floorHz, matchDistanceM: MOT_MATCH_DISTANCE_M })}\n`,
      );
    }
    const floor: string[] = [];
    const periodMs = 1000 / this.floorHz;
    for (; this.nextTickMs <= frame.captureMs; this.nextTickMs += periodMs) {
      const n = floorFrame(this.nextTickMs, this.originMs, this.floorHz);
      floor.push(...motFloorLines(n, tracksAt(this.nextTickMs)));
    }
    if (floor.length > 0) this.file('floor.txt').write(`${floor.join('\n')}\n`);
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.files.values()].map((s) => new Promise<void>((resolve) => s.end(() => resolve()))),
    );
    this.files.clear();
  }

  private file(name: string): WriteStream {
    let s = this.files.get(name);
    if (!s) {
      s = createWriteStream(join(this.dir, name), { flags: 'w' });
      this.files.set(name, s);
    }
    return s;
  }
}
