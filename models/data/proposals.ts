/**
 * `tsx models/data/proposals.ts [--data models/.data] [--models models]`: what the shipped detector
 * proposes on each training and validation frame, for the held-item model to learn from and be
 * validated on. At the edge it sees a window around every hand and item the detector finds, false
 * ones included (products on the shelf, skin-coloured clothes); windows around labelled hands
 * alone teach it none of those. `npm run models:train` runs this first. Writes, per split,
 * detector/{split}/proposals.jsonl (one line per frame: {"proposals": [[cx, cy, score,
 * classIndex], …]}) and proposals.json (which detector).
 */
import { writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openDetectorSplit } from '../eval/dataset.ts';
import { forEachConcurrent } from '../eval/evaluate.ts';
import { HELD_ITEM_PROPOSALS, heldItemProposals } from '../runtime/held-item.ts';
import { findManifest, loadDetector } from '../runtime/load.ts';
import type { DetectorModel } from '../runtime/types.ts';

const SPLITS = ['train', 'val'];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { data: { type: 'string' }, models: { type: 'string' } } });
  const dataDir = resolve(values.data ?? 'models/.data');
  const manifest = findManifest('detector', values.models ? resolve(values.models) : undefined);
  const say = (line: string) => process.stderr.write(`[proposals] ${line}\n`);
  if (!manifest) {
    say('no detector under models/detector: the held-item model will train without proposals');
    return;
  }
  const detector = await loadDetector(manifest, { scoreThreshold: HELD_ITEM_PROPOSALS.minScore });
  try {
    for (const split of SPLITS) await propose(dataDir, split, detector, manifest, say);
  } finally {
    await detector.close();
  }
}

async function propose(
  dataDir: string,
  split: string,
  detector: DetectorModel,
  manifest: string,
  say: (line: string) => void,
): Promise<void> {
  const data = openDetectorSplit(dataDir, split);
  const lines: string[] = new Array(data.count);
  const started = performance.now();
  let done = 0;
  let total = 0;
  try {
    await forEachConcurrent(data.count, 4, async (i) => {
      const { image } = await data.sample(i);
      const { detections } = await detector.detect(image);
      const found = heldItemProposals(detections).map((d) => [
        round(d.bbox.x + d.bbox.w / 2),
        round(d.bbox.y + d.bbox.h / 2),
        round(d.score),
        d.classIndex,
      ]);
      total += found.length;
      lines[i] = JSON.stringify({ proposals: found });
      if (++done % 1000 === 0 || done === data.count)
        say(`${split}: ${done}/${data.count} frames, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    });
  } finally {
    await data.close();
  }
  const dir = join(dataDir, 'detector', split);
  writeFileSync(join(dir, 'proposals.jsonl'), `${lines.join('\n')}\n`);
  const record = {
    detector: relative(process.cwd(), manifest),
    sha256: detector.manifest.sha256,
    minScore: HELD_ITEM_PROPOSALS.minScore,
    classes: HELD_ITEM_PROPOSALS.classes,
    frames: data.count,
    proposals: total,
    createdAt: new Date().toISOString(),
  };
  writeFileSync(join(dir, 'proposals.json'), `${JSON.stringify(record, null, 2)}\n`);
  say(`${total} proposals (${(total / data.count).toFixed(1)} a frame) written to ${dir}`);
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

await main();
