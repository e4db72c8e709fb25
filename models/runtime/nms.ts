/**
 * Non-maximum suppression, pure. Boxes are left, top, width, height in any one pixel frame.
 */

export interface ScoredBox {
  classIndex: number;
  score: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Intersection over union; 0 when either box is empty. */
export function iou(
  a: { x: number; y: number; w: number; h: number },
  b: { x: number; y: number; w: number; h: number },
): number {
  const ix = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const iy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy NMS within each class (boxes of different classes never suppress each other): the best
 * box is kept, every box of its class overlapping it by more than `iouThreshold` is dropped, and
 * so on, until `maxKeep` boxes are kept. Returns the kept boxes, best first.
 */
export function nmsPerClass(boxes: readonly ScoredBox[], iouThreshold: number, maxKeep: number): ScoredBox[] {
  const order = boxes.slice().sort((p, q) => q.score - p.score);
  const kept: ScoredBox[] = [];
  const byClass = new Map<number, ScoredBox[]>();
  for (const b of order) {
    if (kept.length >= maxKeep) break;
    let same = byClass.get(b.classIndex);
    if (!same) {
      same = [];
      byClass.set(b.classIndex, same);
    }
    let suppressed = false;
    for (const k of same) {
      if (iou(b, k) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    same.push(b);
    kept.push(b);
  }
  return kept;
}
