/**
 * The second look (issue 19, product identity): where the weights cannot tell products apart, the
 * held-item model and the classifier look at the hand. Per view (a hand sighting in a frame the
 * camera still keeps): the held-item model reads a window of the camera's main stream around the
 * hand and boxes the item in it; the classifier reads the crop itemCropRegion() draws around that
 * box (the crop its training used) and names the product, or rejects it as unknown. The views'
 * answers are pooled, weighted by how sure the held-item model was of each item.
 */
import {
  type ClassifierModel,
  findManifest,
  type HeldItemModel,
  type ItemClass,
  itemCropRegion,
  loadClassifier,
  loadHeldItem,
  type PixelBox,
} from '../../models/runtime/index.ts';
import type { MainStreamSource } from '../../models/runtime/types.ts';
import { WalkoutError } from '../../proto/errors.ts';
import type { SecondLook } from '../stages.ts';
import type { LookAnswer, LookRequest } from '../types.ts';

/** The main stream of a frame a camera delivered; null when it cannot be read (unknown camera). */
export type MainStreams = (cameraId: string, frameIndex: number) => MainStreamSource | null;

export interface SecondLookOptions {
  /** Manifests; default: the shipped ones under models/. */
  heldItemManifest?: string;
  classifierManifest?: string;
  /**
   * Items the held-item model is less sure of than this are not classified: near a hand at a shelf
   * a weak box is as often the shelf's own product as the one in the hand. The model's own
   * threshold (manifest: 0.3) is where its precision is 0.87.
   */
  minItemScore?: number;
  /** Views read at once (each is a main-stream request, then a model call). */
  viewsInFlight?: number;
}

export const SECOND_LOOK_DEFAULTS = { minItemScore: 0.3, viewsInFlight: 2 } as const;

/** What one view gave: the best item near the hand and the classifier's answer for it. */
export interface ViewResult {
  view: LookRequest['views'][number];
  item: { bbox: PixelBox; score: number };
  cls: ItemClass;
}

/** A view read: its item, or null when the hand held none the held-item model was sure of. */
export interface ViewRead {
  view: LookRequest['views'][number];
  found: ViewResult | null;
}

export async function openSecondLook(
  streams: MainStreams,
  opts: SecondLookOptions = {},
): Promise<{
  look: SecondLook;
  close(): Promise<void>;
  heldItem: HeldItemModel;
  classifier: ClassifierModel;
}> {
  const heldPath = opts.heldItemManifest ?? findManifest('held-item');
  const clsPath = opts.classifierManifest ?? findManifest('classifier');
  if (!heldPath || !clsPath)
    throw new WalkoutError(
      'CONFIG_INVALID',
      'a second look needs the held-item and classifier models: no manifest under models/ (and none given)',
    );
  const [heldItem, classifier] = await Promise.all([
    loadHeldItem(heldPath, { workers: 1 }),
    loadClassifier(clsPath, { workers: 1 }),
  ]);
  const minItemScore = opts.minItemScore ?? SECOND_LOOK_DEFAULTS.minItemScore;
  const inputPx = classifier.manifest.input.shape[3];
  const viewsInFlight = opts.viewsInFlight ?? SECOND_LOOK_DEFAULTS.viewsInFlight;

  /** A view's item and class (found null: no item near the hand); null when the frame is gone. */
  const lookAt = async (view: LookRequest['views'][number]): Promise<ViewRead | null> => {
    const source = streams(view.cameraId, view.frameIndex);
    if (!source) return null;
    const { items } = await heldItem.find(source, [view.bboxPx]);
    const best = items.reduce<(typeof items)[number] | null>(
      (a, b) => (!a || b.score > a.score ? b : a),
      null,
    );
    if (!best || best.score < minItemScore) return { view, found: null };
    const crop = itemCropRegion(best.bbox, inputPx);
    const image = await source.region(crop.region, crop.scale);
    const { results } = await classifier.classify(image);
    const cls = results[0];
    return { view, found: cls ? { view, item: { bbox: best.bbox, score: best.score }, cls } : null };
  };

  const look: SecondLook = async (request) => {
    const read: ViewRead[] = [];
    for (let i = 0; i < request.views.length; i += viewsInFlight) {
      const batch = request.views.slice(i, i + viewsInFlight);
      const got = await Promise.all(batch.map((v) => lookAt(v).catch((err: unknown) => gone(err))));
      for (const g of got) if (g) read.push(g);
    }
    if (request.purpose === 'holder') return holderAnswer(read, request.candidates);
    return pool(
      read.flatMap((r) => (r.found ? [r.found] : [])),
      request.candidates,
    );
  };

  return {
    look,
    heldItem,
    classifier,
    close: async () => {
      await Promise.all([heldItem.close(), classifier.close()]);
    },
  };
}

/**
 * A frame the camera no longer keeps (FRAME_GONE), or a region it refuses, is a view not seen; any
 * other failure is the stage's fault and rejects the look.
 */
function gone(err: unknown): null {
  const code = (err as { code?: string }).code;
  if (code === 'FRAME_GONE' || code === 'NOT_FOUND' || code === 'BAD_REQUEST' || code === 'NO_FRAME_YET')
    return null;
  throw err;
}

/**
 * The views' answers as one, each weighted by its item's score: the share of belief that says
 * "unknown" decides the rejection; the rest is the classifier's probabilities (its five best
 * classes) restricted to the candidates. Null when no view saw an item. Pure.
 */
export function pool(seen: readonly ViewResult[], candidates: readonly string[]): LookAnswer | null {
  if (seen.length === 0) return null;
  let total = 0;
  let unknownW = 0;
  let knownW = 0;
  let mass = 0;
  const sum = new Map<string, number>(candidates.map((c) => [c, 0]));
  for (const { item, cls } of seen) {
    const w = item.score;
    total += w;
    if (cls.unknown) {
      unknownW += w;
      continue;
    }
    knownW += w;
    for (const c of candidates) {
      const p = cls.top.find((t) => t.sku === c)?.probability ?? 0;
      sum.set(c, sum.get(c)! + w * p);
      mass += w * p;
    }
  }
  const candidateMass = knownW > 0 ? mass / knownW : 0;
  const norm = [...sum.values()].reduce((a, b) => a + b, 0);
  const probabilities = Object.fromEntries(
    candidates.map((c) => [c, norm > 0 ? sum.get(c)! / norm : 1 / candidates.length]),
  );
  return {
    probabilities,
    candidateMass,
    unknown: unknownW > total / 2,
    looked: seen.map(({ view, item, cls }) => ({
      cameraId: view.cameraId,
      frameIndex: view.frameIndex,
      itemPx: item.bbox,
      itemScore: item.score,
      sku: cls.sku,
      probability: cls.probability,
    })),
  };
}

/**
 * A holder look's answer: every view read, with its item's score (0: an empty hand) and how much
 * of the classifier's belief in that item fell on the candidates; the items pooled as a product
 * look pools them. Null when no view could be read. Pure.
 */
export function holderAnswer(read: readonly ViewRead[], candidates: readonly string[]): LookAnswer | null {
  if (read.length === 0) return null;
  const found = read.flatMap((r) => (r.found ? [r.found] : []));
  const pooled = pool(found, candidates) ?? {
    probabilities: Object.fromEntries(candidates.map((c) => [c, 1 / candidates.length])),
    candidateMass: 0,
    unknown: false,
    looked: [],
  };
  const mass = (f: ViewResult) =>
    f.cls.unknown
      ? 0
      : Math.min(
          1,
          candidates.reduce((s, c) => s + (f.cls.top.find((t) => t.sku === c)?.probability ?? 0), 0),
        );
  return {
    ...pooled,
    views: read.map(({ view, found: f }) => ({
      cameraId: view.cameraId,
      frameIndex: view.frameIndex,
      captureMs: view.captureMs,
      ...(view.trackId !== undefined ? { trackId: view.trackId } : {}),
      itemScore: f ? f.item.score : 0,
      candidateMass: f ? mass(f) : 0,
    })),
  };
}
