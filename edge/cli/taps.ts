/**
 * What the CLI hangs on the loop's taps besides the loop's own outputs: the evidence kept for review
 * (frames from the input, resolutions from the fusion) and the MOTChallenge files (`--mot`).
 */
import type { Logger } from '../../platform/log.ts';
import type { StoreLayout } from '../../proto/layout/schema.ts';
import type { EdgeConfig } from '../config.ts';
import { startEvidence } from '../evidence/index.ts';
import type { InputSource } from '../stages.ts';
import { MotFiles } from '../tracking/mot-files.ts';
import type { buildFusion } from '../wiring.ts';

type Observe = NonNullable<Parameters<typeof buildFusion>[2]['observe']>;

export async function startTaps(
  config: Pick<EdgeConfig, 'evidence' | 'evidencePort' | 'mot'>,
  layout: Pick<StoreLayout, 'cameras'>,
  stateDir: string,
  log: Logger,
): Promise<{ observe: Observe; tapInput(input: InputSource): InputSource; close(): Promise<void> }> {
  const evidence = await startEvidence({
    layout,
    stateDir,
    tunables: config.evidence,
    port: config.evidencePort,
    wallMs: () => Date.now(),
    log: log.child('evidence'),
  });
  const mot = config.mot ? new MotFiles(config.mot) : null;
  const observe: Observe = {};
  if (evidence) observe.resolve = (t) => evidence.onResolve(t);
  if (mot) observe.tracked = (frame, update, tracksAt) => mot.tracked(frame, update, tracksAt);
  return {
    observe,
    tapInput: (input) => (evidence ? evidence.tap(input) : input),
    close: async () => {
      await evidence?.close();
      await mot?.close();
    },
  };
}
