import { type Appearance, type CameraModel, cameraModel, WalkoutError } from '../../proto/index.ts';
import type { Person } from '../world/types.ts';
import { type Background, renderBackground } from './background.ts';
import { Effects } from './effects.ts';
import { IN_FRAME_MARGIN_PX, labelKey, ProjectedAreas } from './in-frame.ts';
import { encodeJpeg } from './jpeg.ts';
import { type DrawContext, drawPeople, type LabelMeta } from './person.ts';
import { releasePrims } from './prim.ts';
import { Raster } from './raster.ts';
import { buildScene, type Scene } from './scene.ts';
import type { BBox, Label, RenderedFrame, RendererOptions } from './types.ts';

export interface Renderer {
  readonly cameraIds: readonly string[];
  /** Draws one frame of one camera with its exact labels. Same inputs, same bytes. */
  render(cameraId: string, persons: readonly Person[], tsMs: number, frameIndex: number): RenderedFrame;
  /**
   * Draws part of a camera's view at `scale` times its resolution, as the camera's high-resolution
   * main stream would show it: `region` is in the camera's own pixels, the labels in the region's.
   * The background is ray-cast per call, so keep regions small.
   */
  renderRegion(
    cameraId: string,
    persons: readonly Person[],
    tsMs: number,
    frameIndex: number,
    region: BBox,
    scale: number,
  ): RenderedFrame;
  /**
   * Encodes a frame. When `rgb` came from render(), its buffer goes back to the renderer once the
   * encoder has read it, and a later render() reuses it: copy the pixels first if you still need them.
   */
  encodeJpeg(rgb: Uint8Array, width: number, height: number, quality?: number): Promise<Buffer>;
  /** The camera's view of the empty store (computed once, then cached), before lighting and noise. */
  background(cameraId: string): Background;
  model(cameraId: string): CameraModel;
}

interface CameraState {
  index: number;
  model: CameraModel;
  background: Background | null;
  raster: Raster;
}

/** Frame buffers kept for reuse, per size: a fresh 1 MB buffer per frame costs more in page faults and GC than the drawing. */
const POOL_MAX = 32;

export function createRenderer(options: RendererOptions): Renderer {
  const { layout, catalog, seed } = options;
  const minVisible = options.minVisiblePx ?? 5;
  const visibleBoxes = options.visibleBoxes ?? false;
  const projected = options.inFrameShares ? new ProjectedAreas() : null;
  const quality = options.jpegQuality ?? 80;
  const effects = new Effects(seed, options.lightingVariation ?? 0.06, options.noiseSd ?? 2);
  const appearance = new Map<string, Appearance>(catalog.items.map((i) => [i.sku, i.appearance]));
  let scene: Scene | null = null;
  const rasters = new Map<string, Raster>();
  const cameras = new Map<string, CameraState>();
  const pool = new Map<number, Uint8Array[]>();
  const issued = new WeakSet<Uint8Array>();
  const rasterFor = (width: number, height: number): Raster => {
    const key = `${width}x${height}`;
    let raster = rasters.get(key);
    if (!raster) {
      raster = new Raster(width, height);
      rasters.set(key, raster);
    }
    return raster;
  };
  layout.cameras.forEach((c, index) => {
    const model = cameraModel(c);
    cameras.set(c.id, { index, model, background: null, raster: rasterFor(model.width, model.height) });
  });

  const camera = (cameraId: string): CameraState => {
    const cam = cameras.get(cameraId);
    if (!cam)
      throw new WalkoutError('CAMERA_UNKNOWN', `no camera ${cameraId} in store ${layout.storeId}`, {
        cameraId,
      });
    return cam;
  };
  const background = (cameraId: string): Background => {
    const cam = camera(cameraId);
    scene ??= buildScene(layout, catalog, seed);
    cam.background ??= renderBackground(cam.model, scene);
    return cam.background;
  };

  const draw = (
    model: CameraModel,
    bg: Background,
    raster: Raster,
    cameraIndex: number,
    persons: readonly Person[],
    tsMs: number,
    frameIndex: number,
    measureInFrame = false,
  ): RenderedFrame => {
    // Never the buffer of a frame still out with the caller: only those handed back by encodeJpeg.
    const rgb = pool.get(bg.rgb.length)?.pop() ?? new Uint8Array(bg.rgb.length);
    issued.add(rgb);
    rgb.set(bg.rgb);
    raster.begin(rgb, bg.depthMm);
    releasePrims();
    const ctx: DrawContext = { m: model, raster, prims: [], meta: [], appearance };
    drawPeople(ctx, persons);
    effects.apply(rgb, tsMs, cameraIndex, frameIndex);
    const labels: Label[] = [];
    for (let l = 0; l < raster.labels; l++) {
      const visiblePx = raster.visible[l]!;
      const drawnPx = raster.drawn[l]!;
      if (visiblePx < minVisible || drawnPx === 0) continue;
      const m: LabelMeta = ctx.meta[l]!;
      const x = raster.bx0[l]!;
      const y = raster.by0[l]!;
      const label: Label = {
        ...m,
        bbox: { x, y, w: raster.bx1[l]! - x + 1, h: raster.by1[l]! - y + 1 },
        visibility: Math.round((visiblePx / drawnPx) * 10000) / 10000,
        visiblePx,
        drawnPx,
      };
      if (visibleBoxes) {
        const v = raster.visibleBounds(l) ?? { x0: x, y0: y, x1: x - 1, y1: y - 1 };
        label.visibleBox = { x: v.x0, y: v.y0, w: v.x1 - v.x0 + 1, h: v.y1 - v.y0 + 1 };
      }
      labels.push(label);
    }
    const { width, height } = model;
    if (projected && measureInFrame) {
      const m = IN_FRAME_MARGIN_PX;
      const padded = regionModel(model, { x: -m, y: -m, w: width + 2 * m, h: height + 2 * m }, 1);
      const areas = projected.measure(padded, persons, appearance);
      for (const label of labels) {
        const area = areas.get(labelKey(label)) ?? label.drawnPx;
        label.inFrame = Math.round(Math.min(1, label.drawnPx / Math.max(1, area)) * 10000) / 10000;
      }
    }
    return { rgb, width, height, labels: { cameraId: model.id, frameIndex, tsMs, width, height, labels } };
  };

  return {
    cameraIds: layout.cameras.map((c) => c.id),
    model: (cameraId) => camera(cameraId).model,
    background,
    async encodeJpeg(rgb, width, height, q = quality) {
      const jpeg = await encodeJpeg(rgb, width, height, q);
      if (issued.delete(rgb)) {
        const free = pool.get(rgb.length) ?? [];
        pool.set(rgb.length, free);
        if (free.length < POOL_MAX) free.push(rgb);
      }
      return jpeg;
    },
    render(cameraId, persons, tsMs, frameIndex) {
      const cam = camera(cameraId);
      return draw(cam.model, background(cameraId), cam.raster, cam.index, persons, tsMs, frameIndex, true);
    },
    renderRegion(cameraId, persons, tsMs, frameIndex, region, scale) {
      const cam = camera(cameraId);
      const model = regionModel(cam.model, region, scale);
      scene ??= buildScene(layout, catalog, seed);
      const bg = renderBackground(model, scene);
      return draw(model, bg, rasterFor(model.width, model.height), cam.index, persons, tsMs, frameIndex);
    },
  };
}

/** The camera seen through a window of its image, magnified: same pose, scaled and shifted intrinsics. */
export function regionModel(m: CameraModel, region: BBox, scale: number): CameraModel {
  if (!(scale > 0) || region.w <= 0 || region.h <= 0)
    throw new RangeError(`region ${JSON.stringify(region)} at scale ${scale} is empty`);
  return {
    ...m,
    width: Math.round(region.w * scale),
    height: Math.round(region.h * scale),
    fxPx: m.fxPx * scale,
    fyPx: m.fyPx * scale,
    cxPx: (m.cxPx - region.x) * scale,
    cyPx: (m.cyPx - region.y) * scale,
  };
}
