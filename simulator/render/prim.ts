/** The 2D shapes the renderer fills, and their per-frame pool. */

export const ELLIPSE = 0;
export const POLYGON = 1;

/**
 * One convex 2D shape to fill, already projected: an ellipse (inside when
 * qa·dx² + 2·qb·dx·dy + qc·dy² ≤ 1) or a convex polygon, flat, shaded or textured.
 */
export class Prim {
  /** Sort key: distance along the optical axis (m); drawn far to near. */
  depth = 0;
  depthMm = 0;
  part = 0;
  kind = ELLIPSE;
  cx = 0;
  cy = 0;
  qa = 0;
  qb = 0;
  qc = 0;
  xs: number[] = [];
  ys: number[] = [];
  /** Inclusive pixel bounds, clipped to the image. */
  x0 = 0;
  y0 = 0;
  x1 = -1;
  y1 = -1;
  r = 0;
  g = 0;
  b = 0;
  /** Ellipses: how much darker the rim is than the centre (0 = flat). */
  shade = 0;
  tex: Uint8Array | null = null;
  /** Texture coordinates as affine functions of the pixel centre: s = s0 + su·x + sv·y. */
  s0 = 0;
  su = 0;
  sv = 0;
  t0 = 0;
  tu = 0;
  tv = 0;
}

// Shapes are recycled frame to frame (a frame makes a few hundred); JavaScript draws one frame at a time.
const primPool: Prim[] = [];
let primsUsed = 0;

export function allocPrim(kind: number): Prim {
  let p = primPool[primsUsed];
  if (!p) {
    p = new Prim();
    primPool.push(p);
  }
  primsUsed++;
  p.kind = kind;
  p.shade = 0;
  p.tex = null;
  p.xs.length = 0;
  p.ys.length = 0;
  return p;
}

/** Makes every shape handed out so far reusable: call when a frame has been drawn. */
export function releasePrims(): void {
  primsUsed = 0;
}
