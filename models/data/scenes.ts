import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { REGION_JPEG_QUALITY, WalkoutError } from '../../proto/index.ts';
import type { Renderer } from '../../simulator/render/renderer.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';
import type { Person } from '../../simulator/world/types.ts';
import { DATA_COMMAND, type DatasetMeta, type DetectorSplit, missingInput } from '../eval/dataset.ts';
import { decodeJpeg } from '../runtime/preprocess.ts';
import type { MainStreamSource } from '../runtime/types.ts';
import { type MomentSnapshot, runRenderer } from './run.ts';
import { novelProducts, storeVariant } from './variants.ts';

/**
 * Drawing again what a detector frame of the dataset showed, at any scale: the camera's main
 * stream, which the dataset does not store (a 2560×1920 frame is 16 of the detect stream's). The
 * builder records each sampled moment (the people as drawn) and each split's runs (seed, store
 * variant, novel products); the renderer is deterministic, so a region drawn here is the region the
 * camera would have served for that frame.
 */

export const SceneRun = z.object({
  seed: z.number().int(),
  variant: z.number().int().min(0),
  scenario: z.string(),
});
export type SceneRun = z.infer<typeof SceneRun>;

const SplitRecord = z.looseObject({
  runs: z.array(SceneRun),
  novel: z.object({ seed: z.number().int(), count: z.number().int().min(0) }).nullable(),
});

const SceneLine = z.object({
  run: z.number().int().min(0),
  tsMs: z.number(),
  frameIndex: z.number().int().min(0),
  persons: z.array(z.looseObject({ personId: z.string() })),
});

export interface FrameScenes {
  /** The main stream of detector frame `frame` of the split. */
  mainStream(frame: number): MainStreamSource;
}

/** Renderers kept at once: frames are read in order, so a run's frames come together. */
const RENDERERS_KEPT = 2;

export function openScenes(
  dataDir: string,
  split: string,
  meta: DatasetMeta,
  frames: DetectorSplit['origins'],
): FrameScenes {
  const path = join(dataDir, 'detector', split, 'scenes.jsonl');
  const bad = (message: string) =>
    new WalkoutError('FILE_INVALID', `${path}: ${message}; rebuild it with \`${DATA_COMMAND}\``, {
      path,
    });
  const record = SplitRecord.safeParse(meta.splits[split]);
  if (!record.success)
    throw bad(`meta.json has no runs for the ${split} split (a dataset from before scenes)`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw missingInput(path, DATA_COMMAND, `the ${split} split's scenes`);
  }
  const scenes = text
    .split('\n')
    .filter((l) => l !== '')
    .map((line, i) => {
      const r = SceneLine.safeParse(JSON.parse(line));
      if (!r.success) throw bad(`line ${i + 1}: ${z.prettifyError(r.error).replace(/\n/g, '; ')}`);
      if (r.data.run >= record.data.runs.length)
        throw bad(`line ${i + 1}: run ${r.data.run} of ${record.data.runs.length}`);
      return r.data;
    });
  const base = loadScenario('crowded');
  const novel = record.data.novel
    ? novelProducts(base.catalog, record.data.novel.count, record.data.novel.seed)
    : [];
  const renderers = new Map<number, Renderer>();
  const rendererOf = (run: number): Renderer => {
    let r = renderers.get(run);
    if (r) return r;
    const { seed, variant } = record.data.runs[run]!;
    r = runRenderer({ seed, variant: storeVariant(base.layout, base.catalog, variant) }, base.catalog, novel);
    renderers.set(run, r);
    if (renderers.size > RENDERERS_KEPT) renderers.delete(renderers.keys().next().value!);
    return r;
  };
  return {
    mainStream(frame) {
      const origin = frames[frame];
      if (!origin) throw bad(`detector frame ${frame} names no scene`);
      const scene = scenes[origin.scene];
      if (!scene) throw bad(`detector frame ${frame} names scene ${origin.scene} of ${scenes.length}`);
      const moment = { ...scene, persons: scene.persons as unknown as Person[] };
      return momentMainStream(() => rendererOf(scene.run), origin.camera, moment, meta.detector);
    },
  };
}

/**
 * The main stream of one camera's frame of a moment, as its region.jpg would serve it (a JPEG at
 * REGION_JPEG_QUALITY, decoded). `renderer` is asked for when a region is drawn.
 */
export function momentMainStream(
  renderer: () => Renderer,
  camera: string,
  moment: MomentSnapshot,
  frame: { width: number; height: number },
): MainStreamSource {
  return {
    width: frame.width,
    height: frame.height,
    async region(region, scale) {
      const r = renderer();
      const out = r.renderRegion(camera, moment.persons, moment.tsMs, moment.frameIndex, region, scale);
      return decodeJpeg(await r.encodeJpeg(out.rgb, out.width, out.height, REGION_JPEG_QUALITY));
    },
  };
}
