/**
 * An InputSource around another: it changes how inputs are taken (`next`), and hands counters,
 * processed marks, rejections and closing to the input it wraps. The gate authority, the evidence's
 * frame tap and the benchmarks' probe are all such wrappers.
 */
import type { EdgeInput, FrameCounters, InputSource } from '../stages.ts';

export abstract class WrappedInput implements InputSource {
  constructor(protected readonly inner: InputSource) {}

  abstract next(): Promise<EdgeInput | null>;

  counters(): Record<string, FrameCounters> {
    return this.inner.counters();
  }

  markProcessed(cameraId: string): void {
    this.inner.markProcessed(cameraId);
  }

  rejected(): Record<string, number> {
    return this.inner.rejected();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
