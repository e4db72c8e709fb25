import type { Catalog, StoreLayout } from '../../proto/index.ts';

/** A pixel box: left, top, width, height, clipped to the image. */
export interface BBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type LabelKind = 'person' | 'head' | 'hand' | 'item';

/**
 * One labelled object in one frame, exact with respect to the pixels: the box spans every pixel
 * the object covers in the image (occluded or not), and visibility is the share of those pixels
 * that the object still owns once everything in front of it is drawn. visibleBox (when the renderer
 * was asked for it) spans only those pixels: the extent a camera shows, as COCO boxes are drawn.
 */
export interface Label {
  kind: LabelKind;
  personId: string;
  bbox: BBox;
  visibleBox?: BBox;
  /** visiblePx / drawnPx, in [0, 1]: what occlusion leaves of the object's pixels in the image. */
  visibility: number;
  visiblePx: number;
  drawnPx: number;
  /**
   * With inFrameShares: the share of the object's projected area that lies inside the image (1
   * unless the frame's edge cuts it). visibility × inFrame is how much of the whole object the
   * camera shows, as MOTChallenge counts visibility (occlusion and truncation by the image border).
   */
  inFrame?: number;
  /** For hands and items: which hand (0 or 1). */
  hand?: 0 | 1;
  /** For items held in a hand. */
  sku?: string;
  itemId?: string;
}

export interface FrameLabels {
  cameraId: string;
  frameIndex: number;
  tsMs: number;
  width: number;
  height: number;
  labels: Label[];
}

export interface RenderedFrame {
  rgb: Uint8Array;
  width: number;
  height: number;
  labels: FrameLabels;
}

export interface RendererOptions {
  layout: StoreLayout;
  catalog: Catalog;
  seed: number;
  /** Amplitude of the slow global gain and colour cast, as a fraction (0.08 = ±8 %). Default 0.06. */
  lightingVariation?: number;
  /** Standard deviation of the sensor noise, in 8-bit levels. Default 2. */
  noiseSd?: number;
  /** Labels with fewer visible pixels than this are left out. Default 5. */
  minVisiblePx?: number;
  /**
   * Give each label its visibleBox. Default false: it costs about a millisecond a crowded frame,
   * which the live cameras do not need; the dataset builder does.
   */
  visibleBoxes?: boolean;
  /**
   * Give each label of a full frame (not of a region) its inFrame share. Default false: it draws
   * the people a second time, through a camera with a wider sensor, which the live cameras do not
   * need; the dataset builder does.
   */
  inFrameShares?: boolean;
  /** JPEG quality for encodeJpeg. Default 80. */
  jpegQuality?: number;
}
