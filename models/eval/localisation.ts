import { type GtBox, iou, isIgnored, MATCH_IOU, type ScoredBox } from './metrics.ts';

/**
 * How well a detector's boxes fit the objects it finds, by object size: what AP alone does not
 * say. For each positive ground truth, the detection of its class (at or above the operating
 * score) that overlaps it most; then, per size band, how many were found at all (IoU ≥
 * FOUND_IOU), how many fit (IoU ≥ MATCH_IOU), and whether the boxes run large or small. A
 * detector that knows where objects are but not how big they are shows up here as found ≫ fit,
 * small objects' boxes too big and large objects' too small.
 */

/** An object counts as found when a detection overlaps it at least this much. */
export const FOUND_IOU = 0.1;
/** Size bands per class: objects are split at these quantiles of their size. */
export const SIZE_QUANTILES = [0.25, 0.5, 0.75] as const;

export interface SizeBand {
  /** Size as √(w·h) in pixels: the band holds objects from minPx up to maxPx. */
  minPx: number;
  maxPx: number;
  objects: number;
  /** Share with a detection at IoU ≥ FOUND_IOU. */
  found: number;
  /** Share with a detection at IoU ≥ MATCH_IOU. */
  fit: number;
  /** Median best IoU of the found objects; null if none was found. */
  medianIou: number | null;
  /** Geometric mean of detected over true size (√(w·h)) of the found objects: > 1 is too big. */
  sizeRatio: number | null;
}

interface Fit {
  size: number;
  bestIou: number;
  logRatio: number;
}

/** Best fits of one class, accumulated image by image. */
export class LocalisationAccumulator {
  private readonly fits: Fit[] = [];

  /** One image: the class's detections scoring at or above the operating point, and its truth. */
  add(detections: readonly ScoredBox[], truth: readonly GtBox[]): void {
    for (const g of truth) {
      if (isIgnored(g)) continue;
      let best = 0;
      let ratio = 0;
      for (const d of detections) {
        const o = iou(d, g);
        if (o > best) {
          best = o;
          ratio = 0.5 * Math.log((d.w * d.h) / (g.w * g.h));
        }
      }
      this.fits.push({ size: Math.sqrt(g.w * g.h), bestIou: best, logRatio: ratio });
    }
  }

  bands(quantiles: readonly number[] = SIZE_QUANTILES): SizeBand[] {
    if (this.fits.length === 0) return [];
    const sorted = this.fits.slice().sort((a, b) => a.size - b.size);
    const cuts = [0, ...quantiles.map((q) => Math.round(q * sorted.length)), sorted.length];
    const out: SizeBand[] = [];
    for (let b = 0; b + 1 < cuts.length; b++) {
      const band = sorted.slice(cuts[b], cuts[b + 1]);
      if (band.length === 0) continue;
      const found = band.filter((f) => f.bestIou >= FOUND_IOU);
      const ious = found.map((f) => f.bestIou).sort((x, y) => x - y);
      out.push({
        minPx: band[0]!.size,
        maxPx: band.at(-1)!.size,
        objects: band.length,
        found: found.length / band.length,
        fit: band.filter((f) => f.bestIou >= MATCH_IOU).length / band.length,
        medianIou: ious.length > 0 ? median(ious) : null,
        sizeRatio:
          found.length > 0 ? Math.exp(found.reduce((s, f) => s + f.logRatio, 0) / found.length) : null,
      });
    }
    return out;
  }
}

function median(sorted: readonly number[]): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}
