import type { Appearance, CameraModel } from '../../proto/index.ts';
import type { Person } from '../world/types.ts';
import { type DrawContext, drawPeople, type LabelMeta } from './person.ts';
import { releasePrims } from './prim.ts';
import { Raster } from './raster.ts';

/**
 * How far past each edge of the image the second drawing reaches, in pixels: more than a whole
 * person at these rigs (the test split's largest person box is 193 px). Should a part reach past
 * the margin, its area is undercounted and its inFrame share comes out high, so at worst a cut
 * object stays a positive, as it was before shares were measured.
 */
export const IN_FRAME_MARGIN_PX = 256;

/** One label's identity across two drawings of the same people (label numbers differ between them). */
export function labelKey(m: LabelMeta): string {
  return `${m.kind}/${m.personId}/${m.hand ?? ''}/${m.itemId ?? ''}`;
}

/**
 * The projected area of every person, head, hand and item, inside the image or not: the people
 * drawn again through `padded`, the camera with a sensor IN_FRAME_MARGIN_PX wider on every side,
 * over an empty store (fixtures hide nothing here: only the area counts). Keyed by labelKey.
 */
export class ProjectedAreas {
  private readonly rasters = new Map<string, { raster: Raster; rgb: Uint8Array; depth: number[] }>();

  measure(padded: CameraModel, persons: readonly Person[], appearance: ReadonlyMap<string, Appearance>) {
    const key = `${padded.width}x${padded.height}`;
    let state = this.rasters.get(key);
    if (!state) {
      const n = padded.width * padded.height;
      state = {
        raster: new Raster(padded.width, padded.height),
        rgb: new Uint8Array(n * 3),
        depth: new Array(n).fill(Number.MAX_SAFE_INTEGER),
      };
      this.rasters.set(key, state);
    }
    const { raster } = state;
    // The caller's frame is finished: its shapes may be recycled.
    releasePrims();
    raster.begin(state.rgb, state.depth);
    const ctx: DrawContext = { m: padded, raster, prims: [], meta: [], appearance };
    drawPeople(ctx, persons);
    const areas = new Map<string, number>();
    for (let l = 0; l < raster.labels; l++) areas.set(labelKey(ctx.meta[l]!), raster.drawn[l]!);
    return areas;
  }
}
