/**
 * `npm run models:data`: renders the training, validation and test sets for the vision models from
 * simulated stores. Splits never share a simulation seed, so no shopper, moment or frame appears in
 * two splits; validation and test also use floor plans and camera rigs that training never saw,
 * besides the reference store itself (see variants.ts). Options: --out DIR (default models/.data), --scale F (runs × moments).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseWith } from '../../proto/index.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import { TWIN_TOLERANCE } from '../../simulator/world/planogram.ts';
import { type RunPlan, type RunSettings, sampleRun } from './run.ts';
import { DETECTOR_CLASSES } from './sample.ts';
import type { SceneRun } from './scenes.ts';
import { novelProducts, storeVariant } from './variants.ts';
import { buildWindows } from './windows.ts';
import { CropWriter, DetectorWriter } from './writers.ts';

type Split = 'train' | 'val' | 'test';

const Options = z.object({
  out: z.string().default('models/.data'),
  scale: z.coerce.number().positive().max(10).default(1),
  /** More of a split from fresh seeds (e.g. --splits train --seed-offset 100 into another folder). */
  splits: z
    .string()
    .default('train,val,test')
    .transform((s) => s.split(',') as Split[])
    .pipe(z.array(z.enum(['train', 'val', 'test'])).min(1)),
  seedOffset: z.coerce.number().int().min(0).max(899).default(0),
});

interface SplitPlan {
  /** Each block runs seeds base, base + 1, … with scenarios and variants cycled from its start. */
  seedBases: number[];
  runs: number;
  /** Store variants, cycled over the runs; 0 is the reference store. */
  variants: number[];
  novelSeed: number | null;
}

const SCENARIOS = ['crowded', 'baseline', 'groups-and-handoffs', 'weight-twins', 'misplaced-putbacks'];
const SPLITS: Record<Split, SplitPlan> = {
  train: { seedBases: [1000, 1100], runs: 24, variants: [0, 1, 2, 3, 4, 5, 6, 7, 8], novelSeed: null },
  val: { seedBases: [2000], runs: 4, variants: [0, 9, 0, 10], novelSeed: 77 },
  test: { seedBases: [3000], runs: 6, variants: [0, 11, 0, 12, 0, 13], novelSeed: 99 },
};
const MOMENTS_PER_RUN = 36;
const NOVEL_PRODUCTS = 24;
const SETTINGS: RunSettings = {
  momentEveryS: 4,
  warmUpPersons: 14,
  warmUpMaxS: 150,
  detectorFramesPerMoment: 3,
  heldItemShare: 0.7,
  itemCropsPerFrame: 10,
  novelShare: 0,
  cropPx: 64,
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      scale: { type: 'string' },
      splits: { type: 'string' },
      'seed-offset': { type: 'string' },
    },
  });
  const opts = parseWith(
    Options,
    { ...values, seedOffset: values['seed-offset'] },
    'models:data options',
    'CONFIG_INVALID',
  );
  const plans = (Object.entries(SPLITS) as [Split, SplitPlan][]).filter(([split]) =>
    opts.splits.includes(split),
  );
  const outDir = resolve(opts.out);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const base = loadScenario('crowded');
  const { catalog } = base;
  const started = Date.now();
  const meta = {
    // 2: a detector box's visibility also counts what the frame's edge cuts off (run.ts, boxRows).
    version: 2,
    createdAt: new Date().toISOString(),
    detector: { classes: DETECTOR_CLASSES, width: 640, height: 480 },
    classifier: {
      size: SETTINGS.cropPx,
      skus: catalog.items.map((i) => i.sku),
      novelSkus: [] as string[],
      twinPairs: twins(catalog.items),
    },
    reid: { size: SETTINGS.cropPx },
    settings: SETTINGS,
    splits: {} as Record<string, unknown>,
  };
  const totalRuns = plans.reduce((n, [, p]) => n + p.seedBases.length * runsOf(p, opts.scale), 0);
  let runsDone = 0;
  for (const [split, plan] of plans) {
    const novel = plan.novelSeed === null ? [] : novelProducts(catalog, NOVEL_PRODUCTS, plan.novelSeed);
    meta.classifier.novelSkus.push(...novel.map((n) => n.sku));
    const det = new DetectorWriter(join(outDir, 'detector', split));
    const cls = new CropWriter(join(outDir, 'classifier', split), ['labels'] as const);
    const reid = new CropWriter(join(outDir, 'reid', split), ['ids', 'cameras', 'scenes', 'heads'] as const);
    let headCrops = 0;
    const ids = new Map<string, number>();
    let scene = -1;
    const seeds: number[] = [];
    const runRecords: SceneRun[] = [];
    const moments = Math.max(2, Math.round(MOMENTS_PER_RUN * Math.min(1, opts.scale)));
    const runs = plan.seedBases.flatMap((base) =>
      Array.from({ length: runsOf(plan, opts.scale) }, (_, r) => ({ r, seed: base + opts.seedOffset + r })),
    );
    for (const [n, { r, seed }] of runs.entries()) {
      seeds.push(seed);
      const scenarioName = SCENARIOS[r % SCENARIOS.length]!;
      const run: RunPlan = {
        seed,
        scenario: loadScenario(scenarioName),
        variant: storeVariant(base.layout, catalog, plan.variants[r % plan.variants.length]!),
        moments,
      };
      await sampleRun(
        run,
        catalog,
        novel,
        { ...SETTINGS, novelShare: novel.length > 0 ? 0.25 : 0 },
        {
          detector: (hwc, boxes, cameraId) => det.append(hwc, boxes, cameraId),
          snapshot: (moment) => det.scene(n, moment),
          item: (hwc, label) => cls.append(hwc, { labels: label }),
          person: (hwc, key, cameraIndex, headInView) => {
            if (!ids.has(key)) ids.set(key, ids.size);
            if (headInView) headCrops++;
            reid.append(hwc, {
              ids: ids.get(key)!,
              cameras: cameraIndex,
              scenes: scene,
              heads: headInView ? 1 : 0,
            });
          },
          scene: () => {
            scene++;
          },
          moment: (done, total) => {
            if (done % 6 !== 0 && done !== total) return;
            const elapsed = (Date.now() - started) / 1000;
            const frac = (runsDone + done / total) / totalRuns;
            process.stderr.write(
              `[${split} run ${n + 1}/${runs.length} seed ${seed} ${scenarioName} variant ${run.variant.index}] ` +
                `moment ${done}/${total} · frames ${det.count} items ${cls.count} persons ${reid.count} · ` +
                `${(frac * 100).toFixed(0)}% ${fmt(elapsed)} elapsed, ~${fmt(elapsed / frac - elapsed)} left\n`,
            );
          },
        },
      );
      runRecords.push({ seed, variant: run.variant.index, scenario: scenarioName });
      runsDone++;
    }
    det.close();
    cls.close();
    reid.close();
    meta.splits[split] = {
      seeds,
      runs: runRecords,
      novel: plan.novelSeed === null ? null : { seed: plan.novelSeed, count: NOVEL_PRODUCTS },
      variants: plan.variants,
      floors: Object.fromEntries(
        [...new Set(plan.variants)].map((v) => [
          v,
          storeVariant(base.layout, catalog, v).floor ?? 'reference',
        ]),
      ),
      detectorFrames: det.count,
      itemCrops: cls.count,
      personCrops: reid.count,
      personCropsHeadInView: headCrops,
      identities: ids.size,
      scenes: scene + 1,
    };
  }
  writeFileSync(join(outDir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  if (opts.splits.includes('train') && opts.splits.includes('val')) await buildWindows(outDir);
  process.stderr.write(`dataset written to ${outDir} in ${fmt((Date.now() - started) / 1000)}\n`);
}

function runsOf(plan: SplitPlan, scale: number): number {
  return Math.max(1, Math.round(plan.runs * Math.min(1, scale)));
}

function twins(items: { sku: string; soldBy?: string; unitWeightG: { mean: number } }[]): [string, string][] {
  const units = items.filter((i) => i.soldBy !== 'weight');
  const pairs: [string, string][] = [];
  for (let i = 0; i < units.length; i++)
    for (let j = i + 1; j < units.length; j++) {
      const a = units[i]!.unitWeightG.mean;
      const b = units[j]!.unitWeightG.mean;
      if (Math.abs(a - b) / Math.max(a, b) < TWIN_TOLERANCE) pairs.push([units[i]!.sku, units[j]!.sku]);
    }
  return pairs;
}

function fmt(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const m = Math.floor(seconds / 60);
  return `${m}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`;
}

await main();
