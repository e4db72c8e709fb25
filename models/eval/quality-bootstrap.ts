import { Rng } from '../../simulator/core/rng.ts';
import { DETECTOR_CLASSES } from '../data/sample.ts';
import type { PixelBox, RawImage } from '../runtime/index.ts';
import { findManifest, loadClassifier, loadDetector, loadEmbedder, loadHeldItem } from '../runtime/index.ts';
import type { MainStreamSource } from '../runtime/types.ts';
import { EVAL_SCORE_THRESHOLD, evaluateClassifier, evaluateDetector, evaluateReid } from './evaluate.ts';
import { renderFresh } from './fresh.ts';

/**
 * How far the fresh sample of quality.test.ts lets a model's figures wander by chance: the shipped
 * models run once over the sample (answers cached), then the sample's moments are drawn again with
 * replacement (a cluster bootstrap: the frames, crops and shoppers of a moment are not independent)
 * and every metric is scored again on each draw. Prints the point figures and the bootstrap's
 * standard deviation and low percentiles; the floors in quality.test.ts come from these.
 *   npx tsx models/eval/quality-bootstrap.ts [draws]   (WALKOUT_MODELS_DIR=dir for a candidate's)
 */
const DRAWS = Number(process.argv[2] ?? 1000);

/**
 * Answers each input once, keyed on the first argument: a draw repeats frames, not inference. The
 * held-item model's proposals are its frame's detections, the same at every call.
 */
function once<A extends object, B extends unknown[], R>(fn: (a: A, ...b: B) => Promise<R>) {
  const memo = new WeakMap<A, Promise<R>>();
  return (a: A, ...b: B): Promise<R> => {
    let r = memo.get(a);
    if (!r) {
      r = fn(a, ...b);
      memo.set(a, r);
    }
    return r;
  };
}

const dir = process.env.WALKOUT_MODELS_DIR;
const fresh = await renderFresh();
const det = await loadDetector(findManifest('detector', dir)!, {
  scoreThreshold: EVAL_SCORE_THRESHOLD,
  workers: 2,
});
const held = await loadHeldItem(findManifest('held-item', dir)!, { scoreThreshold: EVAL_SCORE_THRESHOLD });
const cls = await loadClassifier(findManifest('classifier', dir)!);
const emb = await loadEmbedder(findManifest('embedding', dir)!);
const detector = { manifest: det.manifest, detect: once((i: RawImage) => det.detect(i)) };
const heldItem = {
  manifest: held.manifest,
  find: once((s: RawImage | MainStreamSource, p: PixelBox[]) => held.find(s, p)),
};
const classifier = { manifest: cls.manifest, classify: once((i: RawImage) => cls.classify(i)) };
const embedder = { manifest: emb.manifest, embed: once((i: RawImage) => emb.embed(i)) };

const scenes = Math.max(...fresh.frames.map((f) => f.scene)) + 1;
const byScene = <T extends { scene: number }>(xs: T[]) =>
  Array.from({ length: scenes }, (_, s) => xs.filter((x) => x.scene === s));
const frames = byScene(fresh.frames);
const items = byScene(fresh.items);
const persons = byScene(fresh.persons);

async function figures(draw: number[]): Promise<Record<string, number>> {
  const f = draw.flatMap((s) => frames[s]!);
  const it = draw.flatMap((s) => items[s]!);
  // A moment drawn twice is two scenes: its copies must not be each other's re-id gallery.
  const ps = draw.flatMap((s, k) => persons[s]!.map((p) => ({ ...p, scene: k })));
  const d = await evaluateDetector(
    detector,
    { classes: DETECTOR_CLASSES, count: f.length, sample: async (i) => f[i]! },
    { heldItem, concurrency: 1 },
  );
  const c = await evaluateClassifier(classifier, {
    skus: fresh.skus,
    labels: it.map((x) => x.label),
    count: it.length,
    crop: async (i) => it[i]!.image,
  });
  const r = await evaluateReid(embedder, {
    ids: ps.map((p) => p.id),
    cameras: ps.map((p) => p.camera),
    scenes: ps.map((p) => p.scene),
    heads: ps.map((p) => p.head),
    count: ps.length,
    crop: async (i) => ps[i]!.image,
  });
  const out: Record<string, number> = {};
  for (const k of DETECTOR_CLASSES) out[`ap50.${k}`] = d.map50[k] ?? 0;
  out['ap50.item.oneStage'] = d.heldItem!.oneStage.ap50 ?? 0;
  out.top1 = c.top1 ?? 0;
  out.falseReject = c.falseReject ?? 0;
  out.unknownRejection = c.unknownRejection ?? 0;
  out.rank1 = r.rank1 ?? 0;
  return out;
}

const all = Array.from({ length: scenes }, (_, s) => s);
const point = await figures(all);
const rng = Rng.stream(1, 'quality-bootstrap');
const draws: Record<string, number>[] = [];
for (let b = 0; b < DRAWS; b++) draws.push(await figures(all.map(() => rng.nextU32() % scenes)));
await Promise.all([det.close(), held.close(), cls.close(), emb.close()]);

const q = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.round(p * (xs.length - 1))]!;
// Higher is better but for falseReject. A floor is the target less the tolerance where the
// shipped model's figure is within the tolerance of its target, else its figure less the tolerance.
const targets: Record<string, number> = {
  'ap50.person': 0.95,
  'ap50.head': 0.95,
  'ap50.hand': 0.85,
  'ap50.item': 0.85,
  top1: 0.98,
  rank1: 0.95,
};
const r3 = (v: number) => v.toFixed(3);
console.log(
  `${scenes} moments, ${fresh.frames.length} frames, ${fresh.items.length} item crops, ${fresh.persons.length} person crops; ${DRAWS} draws`,
);
for (const k of Object.keys(point)) {
  const xs = draws.map((d) => d[k]!);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  const lower = k === 'falseReject';
  // The one-sided 99.5 % bound: how far below its figure (above, for falseReject) a model
  // exactly as good would score on a sample like this one time in 200.
  const tol = lower ? q(xs, 0.995) - point[k]! : point[k]! - q(xs, 0.005);
  const target = targets[k];
  const base = target !== undefined && point[k]! >= target - tol ? target : point[k]!;
  const bound = lower ? base + tol : base - tol;
  console.log(
    `${k.padEnd(20)} point ${r3(point[k]!)}  sd ${r3(sd)}  p0.5 ${r3(q(xs, 0.005))}  p99.5 ${r3(q(xs, 0.995))}  tolerance ${r3(tol)}  target ${target ?? '-'}  ${lower ? 'ceiling' : 'floor'} ${r3(bound)}`,
  );
}
