/**
 * Floor tracking accuracy and cost on recorded detections (detect-recording.ts) or the committed
 * fixture: IDF1, MOTA and ID switches at a 0.5 m match distance against truth/positions.jsonl,
 * births against the truth's entries, tracker milliseconds per frame; with and without re-id.
 *
 *   npx tsx benchmarks/accuracy/bench-tracking.ts --rec /tmp/tracking/REC --dets /tmp/tracking/dets.jsonl [--set key=value ...]
 *   npx tsx benchmarks/accuracy/bench-tracking.ts --fixture test/support/fixtures/tracking-baseline-seed5.jsonl
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trackerConfig } from '../../edge/tracking/config.ts';
import type { FrameDetections } from '../../edge/types.ts';
import { loadLayout } from '../../proto/index.ts';
import type { StoreLayout } from '../../proto/layout/schema.ts';
import { readDetections } from './dets-line.ts';
import { clearMot, idScores } from './mot-metrics.ts';
import { replayTracking } from './replay-tracking.ts';
import { parseSets } from './set-args.ts';
import { readFixture } from './tracking-fixture.ts';
import { readTruth, type Truth } from './truth.ts';

const { values } = parseArgs({
  options: {
    rec: { type: 'string' },
    dets: { type: 'string' },
    fixture: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
    'floor-hz': { type: 'string', default: '10' },
  },
});

let frames: FrameDetections[];
let layout: Pick<StoreLayout, 'cameras' | 'gates'> & { floorPolygonM?: StoreLayout['floorPolygonM'] };
let truth: Truth;
let entries: number;
if (values.fixture) {
  const fx = readFixture(values.fixture);
  ({ frames, layout, truth } = fx);
  entries = fx.entries.length;
} else {
  const rec = values.rec!;
  layout = loadLayout(join(rec, 'layout.json'));
  truth = readTruth(join(rec, 'truth', 'positions.jsonl'));
  entries = readFileSync(join(rec, 'truth', 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"type":"enter"')).length;
  frames = readDetections(values.dets!);
}
const config = trackerConfig(parseSets(values.set));
const hasEmbeddings = frames.some((f) => f.embeddings?.some((e) => e !== null));

const areas: [string, StoreLayout['floorPolygonM'] | undefined][] = [['everywhere', undefined]];
if (layout.floorPolygonM) areas.push(['sales floor', layout.floorPolygonM]);
for (const [where, scoredArea] of areas) {
  for (const reid of hasEmbeddings ? [false, true] : [false]) score(where, reid, scoredArea);
}

function score(where: string, reid: boolean, scoredArea: StoreLayout['floorPolygonM'] | undefined): void {
  const r = replayTracking({
    frames,
    layout,
    config,
    truth,
    floorHz: Number(values['floor-hz']),
    withoutReid: !reid,
    scoredArea,
  });
  const ids = idScores(r.floor, 0.5);
  const mot = clearMot(r.floor, 0.5);
  const sorted = [...r.updateMs].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
  process.stdout.write(
    `${where}, ${reid ? 're-id on ' : 're-id off'}: IDF1 ${ids.idf1.toFixed(4)} (IDP ${ids.idp.toFixed(3)} IDR ${ids.idr.toFixed(3)})  ` +
      `MOTA ${mot.mota.toFixed(4)}  MOTP ${mot.motpM.toFixed(3)} m  IDSW ${mot.idSwitches}  FP ${mot.falsePositives}  FN ${mot.misses}  ` +
      `births ${r.born.length} (entries ${entries})  frames ${frames.length}  update ${mean.toFixed(3)} ms mean, ${p99.toFixed(3)} ms p99\n`,
  );
}
