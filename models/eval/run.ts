/**
 * What `npm run models:eval` does, given its flags and a model loader (the real one from cli.ts,
 * or a stand-in in tests): check that everything exists, evaluate, write, and render the output.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { WalkoutError } from '../../proto/index.ts';
import { Manifest } from '../runtime/manifest.ts';
import type { LoadOptions } from '../runtime/types.ts';
import {
  type DatasetMeta,
  type DetectorSource,
  type DetectorSplit,
  missingInput,
  openClassifierSplit,
  openDetectorSplit,
  openReidSplit,
  readMeta,
  TRAIN_COMMAND,
} from './dataset.ts';
import {
  type ClassifierLike,
  type DetectorLike,
  type EmbedderLike,
  EVAL_SCORE_THRESHOLD,
  evaluateClassifier,
  evaluateDetector,
  evaluateReid,
  type HeldItemLike,
} from './evaluate.ts';
import { type EvalResults, formatReport, prChart, resultsJson, setTopLevelField } from './report.ts';

const MODELS = ['detector', 'classifier', 'reid'] as const;
type ModelName = (typeof MODELS)[number];
/** Detector requests in flight: enough to keep the loader's workers busy without queueing frames. */
const DETECTOR_IN_FLIGHT = 2;
/** Crops are small, so more of them in flight hide the message round trip. */
const CROPS_IN_FLIGHT = 4;
const PROGRESS_EVERY_MS = 3000;

type Closable = { close(): Promise<void> };

/** The loader's entry points (models/runtime/index.ts), as far as the evaluation uses them. */
export interface Runtime {
  loadDetector(manifestPath: string, opts?: LoadOptions): Promise<DetectorLike & Closable>;
  loadClassifier(manifestPath: string, opts?: LoadOptions): Promise<ClassifierLike & Closable>;
  loadEmbedder(manifestPath: string, opts?: LoadOptions): Promise<EmbedderLike & Closable>;
  loadHeldItem(manifestPath: string, opts?: LoadOptions): Promise<HeldItemLike & Closable>;
}

const Options = z.object({
  json: z.boolean().default(false),
  write: z.boolean().default(false),
  data: z.string().default('models/.data'),
  split: z.string().min(1).default('test'),
  models: z.string().default('models'),
  only: z
    .string()
    .default(MODELS.join(','))
    .transform((s) => s.split(',').map((m) => m.trim()))
    .pipe(z.array(z.enum(MODELS)).min(1)),
  limit: z.coerce.number().int().positive().optional(),
  workers: z.coerce.number().int().positive().optional(),
  threads: z.coerce.number().int().positive().optional(),
});
export type EvalCliOptions = z.infer<typeof Options>;

export function parseOptions(argv: string[]): EvalCliOptions {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        json: { type: 'boolean' },
        write: { type: 'boolean' },
        data: { type: 'string' },
        split: { type: 'string' },
        models: { type: 'string' },
        only: { type: 'string' },
        limit: { type: 'string' },
        workers: { type: 'string' },
        threads: { type: 'string' },
      },
    }));
  } catch (err) {
    throw new WalkoutError('CONFIG_INVALID', (err as Error).message);
  }
  const r = Options.safeParse(values);
  if (!r.success) throw new WalkoutError('CONFIG_INVALID', z.prettifyError(r.error).replace(/\n/g, '; '));
  return r.data;
}

export interface RunIo {
  /** Progress and notes. */
  say(text: string): void;
  /** The report or the JSON object. */
  out(text: string): void;
}

const processIo: RunIo = {
  say: (text) => process.stderr.write(`${text}\n`),
  out: (text) => process.stdout.write(text),
};

function progress(
  say: (text: string) => void,
  label: string,
  unit: string,
): (done: number, total: number) => void {
  const start = performance.now();
  let last = start;
  return (done, total) => {
    const now = performance.now();
    if (now - last < PROGRESS_EVERY_MS && done !== total) return;
    last = now;
    const s = (now - start) / 1000;
    const rate = s > 0 ? done / s : 0;
    const eta = rate > 0 ? (total - done) / rate : 0;
    say(
      `${label}: ${done}/${total} ${unit}, ${rate.toFixed(1)}/s, ${done === total ? `done in ${clock(s)}` : `ETA ${clock(eta)}`}`,
    );
  };
}

function clock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  return `${m}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`;
}

/** The manifest of a model, checked before any work starts. */
function readManifest(
  modelsDir: string,
  name: ModelName | 'held-item',
): { path: string; text: string; manifest: Manifest } {
  // As the loader's findManifest: the re-id model may also live in embedding/.
  const candidates = (name === 'reid' ? ['reid', 'embedding'] : [name]).map((f) =>
    join(modelsDir, f, 'manifest.json'),
  );
  const path = candidates.find((p) => existsSync(p)) ?? candidates[0]!;
  if (!existsSync(path)) throw missingInput(path, TRAIN_COMMAND, `the ${name} model`);
  const text = readFileSync(path, 'utf8');
  let manifest: Manifest;
  try {
    manifest = Manifest.parse(JSON.parse(text));
  } catch (err) {
    throw new WalkoutError('FILE_INVALID', `${path} is not a valid manifest: ${(err as Error).message}`, {
      path,
      command: TRAIN_COMMAND,
    });
  }
  const modelFile = resolve(dirname(path), manifest.file);
  if (!existsSync(modelFile)) throw missingInput(modelFile, TRAIN_COMMAND, `the ${name} model file`);
  return { path, text, manifest };
}

function datasetSummary(dataDir: string, meta: DatasetMeta, split: string): Record<string, unknown> {
  return {
    path: relative(process.cwd(), dataDir) || '.',
    version: meta.version,
    createdAt: meta.createdAt ?? null,
    detectorClasses: meta.detector.classes,
    frame: { width: meta.detector.width, height: meta.detector.height },
    skus: meta.classifier.skus.length,
    novelSkus: meta.classifier.novelSkus.length,
    twinPairs: meta.classifier.twinPairs?.length ?? 0,
    split: meta.splits[split] ?? null,
  };
}

/** Runs the evaluation; returns the results (also written to `io.out` as a table or JSON). */
export async function runEvaluation(
  opts: EvalCliOptions,
  loadRuntime: () => Promise<Runtime>,
  io: RunIo = processIo,
): Promise<EvalResults> {
  const say = io.say;
  const dataDir = resolve(opts.data);
  const modelsDir = resolve(opts.models);
  const selected = MODELS.filter((m) => opts.only.includes(m));
  // Everything that can be missing is checked before the first model runs.
  const meta = readMeta(dataDir);
  const manifests = new Map(selected.map((m) => [m, readManifest(modelsDir, m)]));
  // The detector's items come from two stages when a held-item model is there.
  const heldItem =
    selected.includes('detector') && existsSync(join(modelsDir, 'held-item', 'manifest.json'))
      ? readManifest(modelsDir, 'held-item')
      : null;
  const splits = {
    detector: selected.includes('detector') ? openDetectorSplit(dataDir, opts.split, meta) : null,
    classifier: selected.includes('classifier') ? openClassifierSplit(dataDir, opts.split, meta) : null,
    reid: selected.includes('reid') ? openReidSplit(dataDir, opts.split, meta) : null,
  };
  const mismatch = (name: ModelName, what: string, theirs: readonly string[]) => {
    const ours = manifests.get(name)?.manifest.classes;
    if (ours && ours.join('\n') !== theirs.join('\n'))
      say(`warning: the ${name}'s ${what} differ from the dataset's; matching them by name`);
  };
  mismatch('detector', 'classes', meta.detector.classes);
  mismatch('classifier', 'SKUs', meta.classifier.skus);
  const runtime = await loadRuntime();
  const load: LoadOptions = { workers: opts.workers, intraOpThreads: opts.threads };
  const results: EvalResults = {};
  const limitNote = opts.limit ? ` (first ${opts.limit})` : '';
  try {
    if (splits.detector) {
      const data = splits.detector;
      const model = await runtime.loadDetector(manifests.get('detector')!.path, {
        ...load,
        scoreThreshold: EVAL_SCORE_THRESHOLD,
      });
      const held = heldItem
        ? await runtime.loadHeldItem(heldItem.path, { ...load, scoreThreshold: EVAL_SCORE_THRESHOLD })
        : undefined;
      say(
        `detector: ${data.count} ${opts.split} images${limitNote}${held ? ', items through the held-item model' : ''}`,
      );
      try {
        const m = manifests.get('detector')!.manifest;
        const source = await withMainStream(data, heldItem?.manifest, dataDir, opts.split, meta);
        results.detector = await evaluateDetector(model, source, {
          limit: opts.limit,
          concurrency: DETECTOR_IN_FLIGHT,
          scoreThreshold: m.output.kind === 'detector' ? m.output.scoreThreshold : undefined,
          heldItem: held,
          onProgress: progress(say, 'detector', 'images'),
        });
      } finally {
        await model.close();
        await held?.close();
      }
    }
    if (splits.classifier) {
      const data = splits.classifier;
      const model = await runtime.loadClassifier(manifests.get('classifier')!.path, load);
      say(`classifier: ${data.count} ${opts.split} crops${limitNote}`);
      try {
        results.classifier = await evaluateClassifier(model, data, {
          limit: opts.limit,
          concurrency: CROPS_IN_FLIGHT,
          onProgress: progress(say, 'classifier', 'crops'),
        });
      } finally {
        await model.close();
      }
    }
    if (splits.reid) {
      const data = splits.reid;
      const model = await runtime.loadEmbedder(manifests.get('reid')!.path, load);
      say(`re-id: ${data.count} ${opts.split} crops${limitNote}`);
      try {
        results.reid = await evaluateReid(model, data, {
          limit: opts.limit,
          concurrency: CROPS_IN_FLIGHT,
          onProgress: progress(say, 're-id', 'crops'),
        });
      } finally {
        await model.close();
      }
    }
  } finally {
    await Promise.all(Object.values(splits).map((s) => s?.close()));
  }

  if (opts.write) {
    const json = resultsJson(results);
    const common = {
      split: opts.split,
      date: new Date().toISOString(),
      ...(opts.limit ? { limit: opts.limit } : {}),
      dataset: datasetSummary(dataDir, meta, opts.split),
    };
    for (const name of selected) {
      const r = results[name];
      if (!r) continue;
      const counts =
        name === 'detector'
          ? {
              images: results.detector!.images,
              gt: Object.fromEntries(Object.entries(results.detector!.perClass).map(([c, v]) => [c, v.gt])),
            }
          : name === 'classifier'
            ? {
                crops: results.classifier!.crops,
                known: results.classifier!.known,
                novel: results.classifier!.novel,
              }
            : { crops: results.reid!.crops, queries: results.reid!.queries, scenes: results.reid!.scenes };
      const { path } = manifests.get(name)!;
      // Re-read: the manifest may have changed while the evaluation ran.
      const text = readFileSync(path, 'utf8');
      writeFileSync(
        path,
        setTopLevelField(text, 'metrics', { ...common, counts, ...(json[name] as object) }),
      );
      say(`metrics written to ${relative(process.cwd(), path)}`);
    }
    const d = results.detector;
    if (heldItem && d?.heldItem) {
      const text = readFileSync(heldItem.path, 'utf8');
      const metrics = {
        ...common,
        counts: { images: d.images, gt: d.perClass.item?.gt ?? 0 },
        item: d.perClass.item,
        oneStage: d.heldItem.oneStage,
        proposalsPerImage: d.heldItem.proposalsPerImage,
        timing: d.heldItem.timing,
      };
      writeFileSync(heldItem.path, setTopLevelField(text, 'metrics', metrics));
      say(`metrics written to ${relative(process.cwd(), heldItem.path)}`);
    }
    if (results.detector) {
      const svg = join(modelsDir, 'detector', 'pr.svg');
      const title = `detector precision-recall, ${opts.split} split (${results.detector.images} images), IoU 0.5`;
      writeFileSync(svg, `${prChart(results.detector, title)}\n`);
      say(`precision-recall chart written to ${relative(process.cwd(), svg)}`);
    }
  }

  if (opts.json) io.out(`${JSON.stringify(resultsJson(results))}\n`);
  else io.out(`${formatReport(results, opts.split)}\n`);
  return results;
}

/**
 * A held-item model that reads the main stream gets each frame's, drawn again from the moment the
 * dataset recorded (models/data/scenes.ts, which loads the simulator's renderer: only then).
 */
async function withMainStream(
  data: DetectorSplit,
  heldItem: Manifest | undefined,
  dataDir: string,
  split: string,
  meta: DatasetMeta,
): Promise<DetectorSource> {
  if (heldItem?.output.kind !== 'held-item' || heldItem.output.mainStreamScale === 1) return data;
  const { openScenes } = await import('../data/scenes.ts');
  const scenes = openScenes(dataDir, split, meta, data.origins);
  return { ...data, sample: async (i) => ({ ...(await data.sample(i)), mainStream: scenes.mainStream(i) }) };
}
