import { Worker } from 'node:worker_threads';
import { WalkoutError } from '../../proto/errors.ts';
import type { Timing, WorkerInit, WorkerPayload, WorkerReply, WorkerRequest, WorkerResult } from './types.ts';
import { fromWire } from './wire.ts';

/**
 * Worker threads, each holding one session of the same model; a request goes to the least busy.
 * The caller's event loop only posts messages: decoding, preprocessing and inference all happen
 * in the workers.
 */

// Plain JavaScript that registers tsx and then imports worker.ts (see the file for why).
const WORKER_ENTRY = new URL('./worker-entry.mjs', import.meta.url);

interface Pending {
  resolve: (v: { result: WorkerResult; timing: Timing }) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

function failed(file: string, message: string): WalkoutError {
  return new WalkoutError('INFERENCE_FAILED', `${file}: ${message}`, { file });
}

/** Starts one worker; resolves once its session is loaded, checked and warmed up. */
function startSlot(init: WorkerInit): Promise<Slot> {
  const worker = new Worker(WORKER_ENTRY, { workerData: init });
  return new Promise((resolve, reject) => {
    const onMessage = (msg: WorkerReply) => {
      if (msg.kind === 'ready') {
        cleanup();
        resolve({ worker, pending: new Map() });
      } else if (msg.kind === 'fatal') {
        cleanup();
        reject(fromWire(msg.error));
        void worker.terminate();
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(failed(init.manifest.modelPath, `worker failed to start: ${err.message}`));
      void worker.terminate();
    };
    const onExit = (code: number) => {
      cleanup();
      reject(failed(init.manifest.modelPath, `worker exited with code ${code} while starting`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  private lastCrash = '';
  /** Replacements for crashed workers, still starting. */
  private readonly replacing = new Set<Promise<void>>();

  private constructor(private readonly init: WorkerInit) {}

  /** Starts `size` workers in parallel; if any fails, stops them all and rejects with its error. */
  static async start(size: number, init: WorkerInit): Promise<WorkerPool> {
    const pool = new WorkerPool(init);
    const started = await Promise.allSettled(Array.from({ length: size }, () => startSlot(init)));
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const bad = started.find((s) => s.status === 'rejected');
    if (bad) {
      await Promise.all(ok.map((s) => s.worker.terminate()));
      throw bad.reason;
    }
    for (const s of ok) pool.adopt(s);
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  private get file(): string {
    return this.init.manifest.modelPath;
  }

  private adopt(slot: Slot): void {
    const { worker, pending } = slot;
    worker.unref();
    worker.on('message', (msg: WorkerReply) => {
      if (msg.kind !== 'done' && msg.kind !== 'failed') return;
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (pending.size === 0) worker.unref();
      if (msg.kind === 'done') p.resolve({ result: msg.result, timing: msg.timing });
      else p.reject(fromWire(msg.error));
    });
    worker.on('error', (err) => {
      this.lastCrash = err.message;
    });
    worker.on('exit', (code) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const why = this.closed
        ? 'the model was closed'
        : `worker exited with code ${code} ${this.lastCrash}`.trim();
      for (const p of pending.values()) p.reject(failed(this.file, why));
      pending.clear();
      // A crashed worker is replaced, so one bad request cannot shrink the pool for good.
      if (!this.closed) {
        const replacing = startSlot(this.init).then(
          (s) => (this.closed ? void s.worker.terminate() : this.adopt(s)),
          (err: Error) => {
            this.lastCrash = `(replacement failed: ${err.message})`;
          },
        );
        this.replacing.add(replacing);
        void replacing.finally(() => this.replacing.delete(replacing));
      }
    });
    this.slots.push(slot);
  }

  /** Runs one request on the least busy worker. */
  request(payload: WorkerPayload): Promise<{ result: WorkerResult; timing: Timing }> {
    if (this.closed) return Promise.reject(failed(this.file, 'the model is closed'));
    let slot: Slot | undefined;
    for (const s of this.slots) if (!slot || s.pending.size < slot.pending.size) slot = s;
    if (!slot) {
      // Every worker crashed: wait for a replacement rather than fail at once.
      if (this.replacing.size > 0) return Promise.race(this.replacing).then(() => this.request(payload));
      return Promise.reject(failed(this.file, `no worker is running ${this.lastCrash}`.trim()));
    }
    const id = this.nextId++;
    const req: WorkerRequest = { id, ...payload };
    const { worker, pending } = slot;
    return new Promise((resolve, reject) => {
      try {
        worker.postMessage(req);
      } catch (err) {
        reject(
          new WalkoutError(
            'IMAGE_INVALID',
            `the image cannot be sent to the worker: ${(err as Error).message}`,
          ),
        );
        return;
      }
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve, reject });
    });
  }

  /** Terminates every worker; requests still running reject. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
