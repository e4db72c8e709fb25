/**
 * The evidence kept at the edge, put together for the CLI: a recorder fed by the loop's frames and
 * the fusion's resolutions, a store under the state directory swept for retention, and, with a
 * port, the HTTP server reviewers read it from.
 */
import { join } from 'node:path';
import type { Logger } from '../../platform/log.ts';
import type { StoreLayout } from '../../proto/layout/schema.ts';
import { parseWith } from '../../proto/validate.ts';
import type { ResolveTrace } from '../fusion/outputs.ts';
import type { InputSource } from '../stages.ts';
import { EvidenceConfig } from './config.ts';
import { EvidenceRecorder, tapFrames } from './recorder.ts';
import { buildEvidenceServer } from './server.ts';
import { EvidenceStore } from './store.ts';

export { EvidenceConfig } from './config.ts';
export { EvidenceRecorder, tapFrames } from './recorder.ts';
export { buildEvidenceServer, evidenceUrl, frameUrl } from './server.ts';
export { type EvidenceRecord, EvidenceStore } from './store.ts';

export interface EvidenceKeeper {
  /** The input, its frames shown to the recorder. */
  tap(input: InputSource): InputSource;
  /** For the fusion's `observe.resolve`. */
  onResolve(trace: ResolveTrace): void;
  /** Where the server listens (null: not served). */
  url: string | null;
  /** Writes what waits, stops the sweep and the server. */
  close(): Promise<void>;
}

export async function startEvidence(opts: {
  layout: Pick<StoreLayout, 'cameras'>;
  /** The store's state directory: evidence goes under `evidence/`. */
  stateDir: string;
  tunables: Record<string, unknown>;
  port: number;
  wallMs: () => number;
  log: Logger;
}): Promise<EvidenceKeeper | null> {
  const config = parseWith(EvidenceConfig, opts.tunables, 'edge configuration: evidence', 'CONFIG_INVALID');
  if (!config.keep) return null;
  const store = new EvidenceStore(join(opts.stateDir, 'evidence'));
  const recorder = new EvidenceRecorder({
    layout: opts.layout,
    store,
    config,
    wallMs: opts.wallMs,
    log: opts.log,
  });
  const sweep = async () => {
    try {
      const expired = await store.sweep(opts.wallMs(), config.retentionDays);
      if (expired > 0) opts.log.info('evidence past its retention deleted', { events: expired });
      const over = await store.cap(config.maxBytes);
      if (over > 0)
        opts.log.warn('evidence deleted before its retention: over maxBytes', {
          events: over,
          maxBytes: config.maxBytes,
        });
    } catch (err) {
      opts.log.warn('evidence sweep failed', { err: (err as Error).message });
    }
  };
  await sweep();
  const timer = setInterval(sweep, config.sweepEveryMs);
  timer.unref();
  let url: string | null = null;
  const server = opts.port > 0 ? buildEvidenceServer(store, opts.log) : null;
  if (server) {
    url = await server.listen({ host: config.host, port: opts.port });
    opts.log.info('evidence served', { url });
  }
  return {
    tap: (input) => tapFrames(input, (f) => recorder.onFrame(f)),
    onResolve: (t) => recorder.onResolve(t),
    url,
    close: async () => {
      clearInterval(timer);
      await recorder.flush();
      await server?.close();
      opts.log.info('evidence kept', { ...recorder.stats() });
    },
  };
}
