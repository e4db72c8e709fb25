/**
 * One detection through the model loader as the edge runs it (`node --import tsx`, worker threads
 * and all), for scripts/check-shipped.sh: it must work in an install without devDependencies.
 * Exits non-zero if the loader cannot start its workers or the answer is not a detector's.
 */
import sharp from 'sharp';
import { findManifest, loadDetector } from '../models/runtime/index.ts';

const manifest = findManifest('detector');
if (!manifest) throw new Error('no detector manifest under models/');
const model = await loadDetector(manifest, { workers: 1 });
try {
  // A plain grey frame with two dark figures: enough to run the whole path (JPEG decode,
  // preprocessing, inference, decoding), whatever the model finds in it.
  const figure = await sharp({ create: { width: 70, height: 120, channels: 3, background: '#3a3030' } })
    .png()
    .toBuffer();
  const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#968f87' } })
    .composite([
      { input: figure, left: 100, top: 120 },
      { input: figure, left: 420, top: 260 },
    ])
    .jpeg()
    .toBuffer();
  const { detections, timing } = await model.detect(jpeg);
  if (!Array.isArray(detections) || !(timing.inferMs > 0))
    throw new Error(`not a detector's answer: ${JSON.stringify({ detections, timing })}`);
  process.stdout.write(
    `${JSON.stringify({ detections: detections.length, inferMs: Number(timing.inferMs.toFixed(1)) })}\n`,
  );
} finally {
  await model.close();
}
