/**
 * Runs the shipped detector (and, with --embed, the re-id model on every person box) over a
 * recording's frames once and writes one line per frame to OUT: what the edge's tracker would be
 * given (edge/types.ts FrameDetections), so that tracking can be scored and tuned without running
 * the models again.
 *
 *   npx tsx benchmarks/accuracy/detect-recording.ts --rec /tmp/tracking/REC --out /tmp/tracking/dets.jsonl [--embed] [--score 0.1]
 *
 * The detector runs below its manifest's threshold (default 0.1) so that the tracker's second,
 * low-score association stage has detections to work with. Capture times come from
 * frames/{cam}/labels.jsonl (its truth boxes are not used).
 */
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findManifest, loadDetector, loadEmbedder } from '../../models/runtime/index.ts';
import { detectionsLine } from './dets-line.ts';

const { values } = parseArgs({
  options: {
    rec: { type: 'string' },
    out: { type: 'string' },
    embed: { type: 'boolean', default: false },
    score: { type: 'string', default: '0.1' },
    workers: { type: 'string', default: '2' },
  },
});
if (!values.rec || !values.out) throw new Error('usage: --rec DIR --out FILE [--embed] [--score S]');
const rec = values.rec;

interface FrameRef {
  cameraId: string;
  frameIndex: number;
  captureMs: number;
  file: string;
}

const frames: FrameRef[] = [];
for (const cameraId of readdirSync(join(rec, 'frames')).sort()) {
  const lines = readFileSync(join(rec, 'frames', cameraId, 'labels.jsonl'), 'utf8')
    .trim()
    .split('\n');
  for (const line of lines) {
    const l = JSON.parse(line) as { file: string; frameIndex: number; tsMs: number };
    frames.push({
      cameraId,
      frameIndex: l.frameIndex,
      captureMs: l.tsMs,
      file: join(rec, 'frames', cameraId, l.file),
    });
  }
}
frames.sort((a, b) => a.captureMs - b.captureMs || a.cameraId.localeCompare(b.cameraId));

const workers = Number(values.workers);
const detector = await loadDetector(findManifest('detector')!, {
  workers,
  scoreThreshold: Number(values.score),
});
const embedder = values.embed ? await loadEmbedder(findManifest('embedding')!, { workers: 1 }) : null;
const out = createWriteStream(values.out);

let next = 0;
let done = 0;
const results = new Map<number, string>();
let written = 0;
const startedMs = performance.now();

async function worker(): Promise<void> {
  while (next < frames.length) {
    const i = next++;
    const f = frames[i]!;
    const jpeg = readFileSync(f.file);
    const { detections } = await detector.detect(jpeg);
    let embeddings: (Float32Array | null)[] | undefined;
    if (embedder) {
      const persons = detections.flatMap((d, k) => (d.cls === 'person' ? [k] : []));
      const { vectors } = await embedder.embed(
        jpeg,
        persons.map((k) => detections[k]!.bbox),
      );
      embeddings = detections.map(() => null);
      for (const [j, k] of persons.entries()) embeddings[k] = vectors[j]!;
    }
    const { cameraId, frameIndex, captureMs } = f;
    results.set(
      i,
      detectionsLine({ cameraId, frameIndex, captureMs, detections, ...(embeddings ? { embeddings } : {}) }),
    );
    // Written in capture order, whatever order the workers finish in.
    while (results.has(written)) {
      out.write(`${results.get(written)}\n`);
      results.delete(written);
      written++;
    }
    done++;
    if (done % 500 === 0) {
      const s = (performance.now() - startedMs) / 1000;
      process.stderr.write(`${done}/${frames.length} frames, ${s.toFixed(0)} s\n`);
    }
  }
}

await Promise.all(Array.from({ length: workers * 2 }, worker));
await new Promise<void>((resolve) => out.end(resolve));
await detector.close();
await embedder?.close();
process.stderr.write(
  `done: ${frames.length} frames in ${((performance.now() - startedMs) / 1000).toFixed(0)} s\n`,
);
