import type { DeviceMessage } from '../run/engine.ts';

/** Where device traffic goes: a broker when live, a file when recording. */
export interface DeviceSink {
  publish(message: DeviceMessage): void;
  /** Messages handed over so far. */
  readonly published: number;
  close(): Promise<void>;
}
