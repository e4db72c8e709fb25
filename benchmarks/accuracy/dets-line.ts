/**
 * One frame's detections as a line of a dets.jsonl file (detect-recording.ts, and kept accuracy
 * runs): boxes to 0.1 px, scores and re-id embeddings to 0.001, enough for the tracker's figures
 * (bench-tracking.ts); or, `exact`, every number as the detector gave it, so that a replay of a
 * kept run (recorded-detector.ts) is that run. Rounded, a replay's tracker numbered and bound
 * tracks otherwise than its run's on a groups-and-handoffs seed (stop 35), from 0.1 px.
 * `readDetections` reads a file of them back, embeddings as Float32Array.
 */
import { readFileSync } from 'node:fs';
import type { ArmLink, FrameDetections } from '../../edge/types.ts';
import type { Detection } from '../../models/runtime/types.ts';

export interface DetectionsRow {
  cameraId: string;
  frameIndex: number;
  captureMs: number;
  detections: readonly Detection[];
  /** Parallel to `detections`; null where none was computed. */
  embeddings?: readonly (ArrayLike<number> | null)[];
  armLinks?: readonly ArmLink[];
}

const r1 = (v: number) => Math.round(v * 10) / 10;
const r3 = (v: number) => Math.round(v * 1000) / 1000;

export function detectionsLine(f: DetectionsRow, exact = false): string {
  if (exact)
    return JSON.stringify({
      ...f,
      ...(f.embeddings ? { embeddings: f.embeddings.map((e) => (e ? Array.from(e) : null)) } : {}),
    });
  return JSON.stringify({
    cameraId: f.cameraId,
    frameIndex: f.frameIndex,
    captureMs: f.captureMs,
    detections: f.detections.map((d) => ({
      cls: d.cls,
      classIndex: d.classIndex,
      score: r3(d.score),
      bbox: { x: r1(d.bbox.x), y: r1(d.bbox.y), w: r1(d.bbox.w), h: r1(d.bbox.h) },
    })),
    ...(f.embeddings ? { embeddings: f.embeddings.map((e) => (e ? Array.from(e, r3) : null)) } : {}),
    ...(f.armLinks ? { armLinks: f.armLinks.map((l) => ({ ...l, probability: r3(l.probability) })) } : {}),
  });
}

export function readDetections(path: string): FrameDetections[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const f = JSON.parse(l) as FrameDetections & { embeddings?: (number[] | null)[] };
      return { ...f, embeddings: f.embeddings?.map((e) => (e ? Float32Array.from(e) : null)) };
    });
}
