/**
 * Loading and running Walkout's vision models: load.ts (loading and the checks that refuse a bad
 * model), pool.ts and worker.ts (sessions in worker threads), decode.ts and nms.ts (outputs to
 * answers, pure).
 */
export { type ArmPair, armReachPx, armStrip } from './arm-link.ts';
export { checkInputs, checkOutputDims, checkOutputNames, outputProblem } from './checks.ts';
export { ITEM_CROP, type ItemCrop, itemCropRegion } from './crops.ts';
export {
  boxToSource,
  type Calibration,
  calibratedProbabilities,
  decodeClassifier,
  decodeYolo,
  l2Normalize,
  MAX_NMS_CANDIDATES,
  softmax,
  type YoloOptions,
  yoloAnchors,
} from './decode.ts';
export {
  decodeHeldItem,
  distanceToBox,
  HELD_ITEM_PROPOSALS,
  type HeldItem,
  heldItemDetections,
  heldItemProposals,
} from './held-item.ts';
export {
  defaultLoadOptions,
  findManifest,
  loadArmLink,
  loadClassifier,
  loadDetector,
  loadEmbedder,
  loadHeldItem,
  MODEL_FOLDERS,
  MODELS_DIR,
  readManifest,
  readVerifiedModel,
} from './load.ts';
export { Manifest } from './manifest.ts';
export { iou, nmsPerClass, type ScoredBox } from './nms.ts';
export type { InputTransform, PixelBox, RawImage } from './preprocess.ts';
export type {
  ArmLinkModel,
  ClassifierModel,
  Detection,
  DetectorModel,
  EmbeddingModel,
  GraphOptimization,
  HeldItemModel,
  ImageInput,
  ItemClass,
  LoadedManifest,
  LoadOptions,
  Timing,
} from './types.ts';
