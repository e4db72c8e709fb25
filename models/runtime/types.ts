import type { ErrorCode } from '../../proto/errors.ts';
import type { ArmPair } from './arm-link.ts';
import type { HeldItem, HeldItemWindow } from './held-item.ts';
import type { Manifest } from './manifest.ts';
import type { PixelBox, RawImage } from './preprocess.ts';

/** JPEG bytes, or decoded interleaved RGB. */
export type ImageInput = Uint8Array | RawImage;

export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

/** Defaults: defaultLoadOptions(task) in load.ts, set from the inference benchmark. */
export interface LoadOptions {
  /** Worker threads, each with its own session. Default: detector min(2, cores), others 1. */
  workers?: number;
  /** onnxruntime intra-op threads per session. Default 1. */
  intraOpThreads?: number;
  /** Default 'all'. */
  graphOptimization?: GraphOptimization;
  /** Detector and held-item model: overrides the manifest's scoreThreshold. */
  scoreThreshold?: number;
}

/** Measured inside the worker, per call; with several boxes, summed over the boxes. */
export interface Timing {
  decodeMs: number;
  preprocessMs: number;
  inferMs: number;
  postprocessMs: number;
  /** From the worker receiving the request to it sending the answer. */
  totalMs: number;
}

/** One detected object, in source-image pixels. */
export interface Detection {
  classIndex: number;
  cls: string;
  score: number;
  bbox: PixelBox;
}

export interface ItemClass {
  /** null when the item is unknown to the model. */
  sku: string | null;
  /** The best class, even when unknown. */
  classIndex: number;
  /** Calibrated probability of the best class. */
  probability: number;
  /** Best cosine similarity to a class prototype. */
  similarity: number;
  unknown: boolean;
  /** The five most probable classes, best first. */
  top: { sku: string; probability: number }[];
  /** L2-normalised item embedding. */
  embedding: Float32Array;
}

export type LoadedManifest = Manifest & { path: string; modelPath: string };

interface ModelBase {
  readonly manifest: LoadedManifest;
  /** Terminates the workers; later calls reject. */
  close(): Promise<void>;
}

export interface DetectorModel extends ModelBase {
  /**
   * With `keepImage`, JPEG input comes back decoded too, for the next model on the same frame (the
   * re-id model's crops) to skip decoding it again.
   */
  detect(
    image: ImageInput,
    opts?: { keepImage?: boolean },
  ): Promise<{ detections: Detection[]; timing: Timing; image?: RawImage }>;
}

export interface ClassifierModel extends ModelBase {
  /** Without boxes the whole image is the crop; otherwise one result per box. */
  classify(image: ImageInput, boxes?: PixelBox[]): Promise<{ results: ItemClass[]; timing: Timing }>;
}

export interface HeldItemModel extends ModelBase {
  /**
   * Looks at a window centred on each proposal (a detected hand or item, heldItemProposals()) and
   * returns the items found within reach of a window's centre, each with its proposal's index; a
   * proposal may find none. heldItemDetections() makes one box per item of the frame. A model whose
   * manifest has mainStreamScale 1 cuts its windows from the detect-stream frame (`source`); above
   * 1 it reads them from the camera's main stream, and `source` must be a MainStreamSource.
   */
  find(
    source: ImageInput | MainStreamSource,
    proposals: PixelBox[],
  ): Promise<{ items: HeldItem[]; timing: Timing }>;
}

/**
 * A camera's main stream as the edge reaches it (GET region.jpg of proto/camera/stream.ts): part
 * of one detect-stream frame at a finer scale.
 */
export interface MainStreamSource {
  /** The detect-stream frame's size; regions are given in its pixels. */
  width: number;
  height: number;
  /** The region, region.w × scale by region.h × scale pixels. */
  region(region: PixelBox, scale: number): Promise<ImageInput>;
}

export interface ArmLinkModel extends ModelBase {
  /** Per pair, the probability that the hand is the head's person's; pairs of one frame. */
  link(image: ImageInput, pairs: ArmPair[]): Promise<{ probabilities: number[]; timing: Timing }>;
  /** The farthest a head may lie from the hand (frame pixels) and still show on the strip. */
  readonly reachPx: number;
}

export interface EmbeddingModel extends ModelBase {
  /** Without boxes the whole image is the crop; otherwise one L2-normalised vector per box. */
  embed(image: ImageInput, boxes?: PixelBox[]): Promise<{ vectors: Float32Array[]; timing: Timing }>;
}

// ---- between the pool and its workers ----

export type Task = Manifest['task'];

export interface WorkerInit {
  task: Task;
  manifest: LoadedManifest;
  /** The verified bytes of the model file, so that a worker loads exactly what was hashed. */
  model: Uint8Array;
  intraOpThreads: number;
  graphOptimization: GraphOptimization;
  scoreThreshold: number | undefined;
}

export interface WireError {
  code: ErrorCode;
  /** Without the "CODE: " prefix WalkoutError adds. */
  message: string;
  details: Record<string, unknown>;
}

/** One image with its crop boxes, or a held-item model's main-stream windows. */
export type WorkerPayload =
  | { image: ImageInput; boxes?: PixelBox[] | undefined; keepImage?: boolean }
  | {
      windows: { window: HeldItemWindow; part: ImageInput | null }[];
      /** The detect-stream frame's size, which found boxes are clipped to. */
      frame: { width: number; height: number };
    }
  | { image: ImageInput; pairs: ArmPair[] };

export type WorkerRequest = { id: number } & WorkerPayload;

export type WorkerResult =
  | { task: 'detector'; detections: Detection[]; image?: RawImage }
  | { task: 'classifier'; results: ItemClass[] }
  | { task: 'embedding'; vectors: Float32Array[] }
  | { task: 'held-item'; items: HeldItem[] }
  | { task: 'arm-link'; probabilities: number[] };

export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'fatal'; error: WireError }
  | { kind: 'done'; id: number; result: WorkerResult; timing: Timing }
  | { kind: 'failed'; id: number; error: WireError };
