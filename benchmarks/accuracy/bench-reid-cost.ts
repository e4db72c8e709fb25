/**
 * What re-id costs the edge per frame: the shipped re-id model on every person box (score ≥ 0.5)
 * of recorded frames, one worker, the frame handed over JPEG (as the camera sends it) or decoded
 * (as the detector stage already has it). Round trips, milliseconds per frame.
 *
 *   npx tsx benchmarks/accuracy/bench-reid-cost.ts --rec /tmp/tracking/REC --dets /tmp/tracking/dets.jsonl [--frames 400]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { FrameDetections } from '../../edge/types.ts';
import { findManifest, loadEmbedder } from '../../models/runtime/index.ts';
import { decodeJpeg } from '../../models/runtime/preprocess.ts';

const { values } = parseArgs({
  options: { rec: { type: 'string' }, dets: { type: 'string' }, frames: { type: 'string', default: '400' } },
});
const lines = readFileSync(values.dets!, 'utf8').trim().split('\n');
// From the middle of the recording, where the store is busiest.
const start = Math.floor(lines.length / 4);
const frames = lines.slice(start, start + Number(values.frames)).map((l) => JSON.parse(l) as FrameDetections);
const model = await loadEmbedder(findManifest('embedding')!, { workers: 1 });
for (const input of ['jpeg', 'decoded'] as const) {
  let crops = 0;
  let ms = 0;
  let n = 0;
  for (const f of frames) {
    const boxes = f.detections.filter((d) => d.cls === 'person' && d.score >= 0.5).map((d) => d.bbox);
    if (boxes.length === 0) continue;
    const jpeg = readFileSync(
      join(values.rec!, 'frames', f.cameraId, `${String(f.frameIndex).padStart(6, '0')}.jpg`),
    );
    const image = input === 'jpeg' ? jpeg : await decodeJpeg(jpeg);
    const t0 = performance.now();
    await model.embed(image, boxes);
    ms += performance.now() - t0;
    crops += boxes.length;
    n++;
  }
  process.stdout.write(
    `${input}: ${n} frames with people, ${(crops / n).toFixed(2)} crops a frame, ${(ms / n).toFixed(2)} ms a frame\n`,
  );
}
await model.close();
