import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Camera } from '../../proto/index.ts';
import type { FrameLabels } from '../render/types.ts';

/**
 * MOTChallenge ground truth of the person tracks each camera sees, written per camera as
 *   {dir}/mot/{cameraId}/gt/gt.txt      frame,id,bb_left,bb_top,bb_width,bb_height,1,1,visibility
 *   {dir}/mot/{cameraId}/seqinfo.ini    [Sequence] name, imDir=img1, frameRate, seqLength, imWidth, imHeight, imExt=.jpg
 * Frames are 1-based: a camera's frame indexes are kept as they are when they start at 1 or later
 * (the simulator's do, and its recorded JPEGs are named by them), shifted when they start at 0.
 * Track ids are integers from 1, one per person for the whole run and the same in every camera.
 * Boxes follow the MOTChallenge convention of 1-based pixel coordinates (bb_left = x + 1).
 * Only person labels go in; visibility is the share of the person's pixels not hidden.
 */
export interface MotWriter {
  add(cameraId: string, frameIndex: number, labels: FrameLabels): void;
  /** Writes every camera's sequence under {dir}/mot/ (cameras with no frames get an empty gt.txt). */
  write(dir: string): void;
  /** The track id given to a person, assigned on first sight. */
  trackId(personId: string): number;
}

const FIELDS = 7;

/** A growable column store of int32 rows: frame, id, left, top, width, height, visibility×10⁴. */
class Rows {
  data = new Int32Array(FIELDS * 1024);
  length = 0;
  minFrame = Number.POSITIVE_INFINITY;
  maxFrame = Number.NEGATIVE_INFINITY;

  push(row: readonly number[]): void {
    if ((this.length + 1) * FIELDS > this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data.set(row, this.length * FIELDS);
    this.length++;
  }
}

export function createMotWriter(cameras: readonly Camera[]): MotWriter {
  const byCamera = new Map(cameras.map((c) => [c.id, { camera: c, rows: new Rows() }]));
  const tracks = new Map<string, number>();
  const trackId = (personId: string): number => {
    let id = tracks.get(personId);
    if (id === undefined) {
      id = tracks.size + 1;
      tracks.set(personId, id);
    }
    return id;
  };

  return {
    trackId,
    add(cameraId, frameIndex, labels) {
      const entry = byCamera.get(cameraId);
      if (!entry) throw new Error(`MOT writer: unknown camera ${cameraId}`);
      if (!Number.isInteger(frameIndex) || frameIndex < 0)
        throw new Error(`MOT writer: bad frame index ${frameIndex}`);
      const rows = entry.rows;
      rows.minFrame = Math.min(rows.minFrame, frameIndex);
      rows.maxFrame = Math.max(rows.maxFrame, frameIndex);
      for (const l of labels.labels) {
        if (l.kind !== 'person') continue;
        const { x, y, w, h } = l.bbox;
        rows.push([frameIndex, trackId(l.personId), x + 1, y + 1, w, h, Math.round(l.visibility * 10000)]);
      }
    },
    write(dir) {
      for (const { camera, rows } of byCamera.values()) {
        const seqDir = join(dir, 'mot', camera.id);
        mkdirSync(join(seqDir, 'gt'), { recursive: true });
        const shift = rows.minFrame >= 1 || !Number.isFinite(rows.minFrame) ? 0 : 1 - rows.minFrame;
        const order = Array.from({ length: rows.length }, (_, i) => i);
        const d = rows.data;
        order.sort(
          (a, b) => d[a * FIELDS]! - d[b * FIELDS]! || d[a * FIELDS + 1]! - d[b * FIELDS + 1]! || a - b,
        );
        // Written in chunks: an hour of a busy store is millions of lines.
        const fd = openSync(join(seqDir, 'gt', 'gt.txt'), 'w');
        try {
          let chunk = '';
          for (let k = 0; k < order.length; k++) {
            const o = order[k]! * FIELDS;
            chunk += `${d[o]! + shift},${d[o + 1]},${d[o + 2]},${d[o + 3]},${d[o + 4]},${d[o + 5]},1,1,${d[o + 6]! / 10000}\n`;
            if (chunk.length > 1 << 16) {
              writeSync(fd, chunk);
              chunk = '';
            }
          }
          if (chunk) writeSync(fd, chunk);
        } finally {
          closeSync(fd);
        }
        const seqLength = Number.isFinite(rows.maxFrame) ? rows.maxFrame + shift : 0;
        const ini = [
          '[Sequence]',
          `name=${camera.id}`,
          'imDir=img1',
          `frameRate=${camera.fps}`,
          `seqLength=${seqLength}`,
          `imWidth=${camera.resolution.width}`,
          `imHeight=${camera.resolution.height}`,
          'imExt=.jpg',
          '',
        ].join('\n');
        writeFileSync(join(seqDir, 'seqinfo.ini'), ini);
      }
    },
  };
}
