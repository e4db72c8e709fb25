/**
 * The edge's inputs: the store live (broker + camera streams) or a recording replayed, each one
 * InputSource (edge/stages.ts) for the loop.
 */
export { FrameFlow, type FrameFlowConfig } from './frame-flow.ts';
export { connectLiveInput, LiveInput, type LiveInputOptions } from './live-input.ts';
export { MjpegInput, type MjpegInputOptions, type StreamStatus } from './mjpeg-input.ts';
export { MqttInput, type MqttInputOptions, type ReceivedMessage } from './mqtt-input.ts';
export { loadRecordingStore } from './recording-store.ts';
export { DEFAULT_REJECTION_LOG, type RejectionLogConfig } from './rejections.ts';
export { ReplayInput, type ReplayInputOptions } from './replay-input.ts';
