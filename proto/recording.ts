import { z } from 'zod';

/**
 * A simulator recording on disk (`sim --record DIR`), the format both its writer (the simulator) and
 * its readers (the edge's replay, benchmarks) follow. docs/simulator.md "Output files" is its
 * human-readable copy. Everything the product may read sits outside `truth/`; the ground truth the
 * edge must never see (frame labels, among others) sits under it, so a replay that opens nothing
 * under `truth/` cannot cheat, and a copy of a recording without `truth/` replays the same.
 */
export const recordingPaths = {
  /** One RecordedMessage per line, in the order the devices published them. */
  mqtt: 'mqtt.jsonl',
  layout: 'layout.json',
  catalog: 'catalog.json',
  frames: 'frames',
  /** One RecordedFrame per line, in the camera's frame order. */
  frameIndex: (cameraId: string) => `frames/${cameraId}/index.jsonl`,
  frame: (cameraId: string, frameIndex: number) => `frames/${cameraId}/${frameFileName(frameIndex)}`,
  truth: 'truth',
  /** Ground truth: per frame its capture time and labelled boxes (person, head, hand, item + SKU). */
  frameLabels: (cameraId: string) => `truth/frames/${cameraId}/labels.jsonl`,
} as const;

/** A frame's JPEG name: its X-Frame-Index, zero-padded so that names sort in frame order. */
export function frameFileName(frameIndex: number): string {
  return `${String(frameIndex).padStart(6, '0')}.jpg`;
}

/** One line of mqtt.jsonl: a message as it crossed the broker. */
export const RecordedMessage = z
  .object({
    /** Store clock when the device published it. */
    tsMs: z.number().nonnegative(),
    topic: z.string().min(1),
    retain: z.boolean(),
    /** The exact payload text sent, to be decoded as a live message is (decodeMessage). */
    payload: z.string(),
  })
  .strict();
export type RecordedMessage = z.infer<typeof RecordedMessage>;

/** One line of a camera's index.jsonl: what its stream's part headers said of the frame. */
export const RecordedFrame = z
  .object({
    /** X-Frame-Index. */
    frameIndex: z.number().int().nonnegative(),
    /** X-Capture-Time-Ms (store clock). */
    captureMs: z.number().nonnegative(),
  })
  .strict();
export type RecordedFrame = z.infer<typeof RecordedFrame>;
