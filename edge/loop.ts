/**
 * The edge's loop: inputs from the store, the fusion's outputs to the cloud and the broker. It owns
 * no logic of its own beyond order and time: frames go through the detector (up to `detectInFlight`
 * at once, so both inference workers stay busy), and every input reaches the fusion in the order it
 * was read, a device message only after the detections of the frames read before it. So what the
 * fusion sees does not depend on how fast the detector is: a replay gives the same receipts on a
 * loaded machine as on a quiet one (when device messages passed detections still in the detector,
 * which frames were in when a weight event resolved changed with the load). The store clock is the
 * newest input time the fusion took, moved on by the wall clock when inputs pause (live only). The fusion's second
 * looks run beside it (edge/looks.ts) and their answers go back in between inputs; in replay the
 * loop waits for them before time moves on, so a replay's results do not depend on how fast they are.
 */
import type { Logger } from '../platform/log.ts';
import { isWalkoutError } from '../proto/errors.ts';
import type { Fusion } from './fusion/engine.ts';
import type { FusionOutput } from './fusion/outputs.ts';
import { LooksInFlight } from './looks.ts';
import type {
  CloudLink,
  EdgeInput,
  FrameDetector,
  InputSource,
  LivePublisher,
  SecondLook,
} from './stages.ts';
import type { Checkpointer } from './state/checkpoint.ts';
import type { CameraFrame, FrameDetections } from './types.ts';

export interface LoopParts {
  input: InputSource;
  detector: FrameDetector;
  fusion: Fusion;
  link: CloudLink | null;
  publisher: LivePublisher | null;
  log: Logger;
  /** Wall clock (ms) for live runs; absent in replay, where time is the inputs' alone. */
  wallMs?: () => number;
  /** Answers the fusion's `look` outputs; without it every look answers null (weights alone). */
  secondLook?: SecondLook;
  /** Frames in the detector at once. */
  detectInFlight: number;
  /** Every output, as it happens (benchmarks measure latencies here). */
  onOutput?: (o: FusionOutput, wallMs: number) => void;
  /** Every frame's detections, as the fusion takes them (MOT files, benchmarks). */
  onDetections?: (d: FrameDetections) => void;
  /**
   * Reports go through it with the fusion's checkpoint instead of one by one to the link
   * (edge/state/checkpoint.ts); a resumed run's clock starts at `startMs`, the checkpoint's.
   */
  checkpoints?: { checkpointer: Checkpointer; startMs: number };
}

export interface LoopStats {
  inputs: number;
  framesDetected: number;
  deviceMessages: number;
  reports: number;
  detectionErrors: number;
}

/** Live, the fusion is given the time at least this often (wall ms) while no input comes. */
const IDLE_TICK_MS = 100;

/** How often (store ms) the live publisher's watchdog is given the time. */
const WATCHDOG_EVERY_MS = 250;

/** At the input's end, time moves on this far (ms) so every wait (held put-backs, closes) is over. */
const FINAL_SETTLE_MS = 60_000;

type Step = { kind: 'input'; input: EdgeInput | null } | { kind: 'detected' } | { kind: 'looked' };

type Queued =
  | { kind: 'device'; message: Extract<EdgeInput, { kind: 'device' }>['message']; tsMs: number }
  | { kind: 'frame'; promise: Promise<FrameDetections | null>; done: boolean; frame: CameraFrame };

export async function runLoop(parts: LoopParts, signal?: AbortSignal): Promise<LoopStats> {
  const stats: LoopStats = {
    inputs: 0,
    framesDetected: 0,
    deviceMessages: 0,
    reports: 0,
    detectionErrors: 0,
  };
  const clock = new StoreClock(parts.wallMs);
  const checkpointer = parts.link ? parts.checkpoints?.checkpointer : undefined;
  if (parts.checkpoints) clock.saw(parts.checkpoints.startMs);
  // Inputs read and not yet fused, in the order they were read; frames among them are detecting.
  const queue: Queued[] = [];
  let detecting = 0;
  let nextInput: Promise<Step> | null = null;
  let ended = false;
  let lastWatchdogMs = 0;
  let idle: Promise<null> | null = null;
  // Reports on their way into the outbox, awaited at the end (see deliver).
  const pendingReports = new Set<Promise<void>>();
  const looks = new LooksInFlight(parts.secondLook, parts.log);
  let looked: Promise<Step> | null = null;
  const emit = async (outputs: FusionOutput[]) => {
    for (const o of outputs) {
      parts.onOutput?.(o, parts.wallMs?.() ?? performance.now());
      if (o.kind === 'look') looks.start(o.request);
      else if (checkpointer && o.kind === 'report') stats.reports += 1;
      else await deliver(parts, o, stats, pendingReports);
    }
    // A fusion call's reports are stored together with the state after it.
    if (!checkpointer) return;
    const reports = outputs.flatMap((o) =>
      o.kind === 'report' ? [{ report: o.report, timeMs: Math.round(o.tsMs) }] : [],
    );
    const stored = checkpointer.commit(reports, clock.now());
    if (stored) pending(parts, stored, pendingReports);
  };
  const answers = async () => {
    // Replay: every look answered (and any look an answer asks for) before the next input
    // (deterministic); live: those that came in.
    do {
      if (!parts.wallMs) await looks.all();
      for (const a of looks.take()) await emit(parts.fusion.onLook(a.eventId, a.answer));
    } while (!parts.wallMs && looks.inFlight > 0);
  };
  // Time moves to the newest input the fusion took (and on with the wall clock, live).
  const advance = async () => {
    await answers();
    const nowMs = clock.now();
    // Before any input has told the store's time there is no time to give: a tick at 0 made every
    // plate "silent since 1970" when a live edge started before its devices spoke.
    if (nowMs === 0) return;
    await emit(parts.fusion.tick(nowMs));
    await answers();
    if (parts.publisher && nowMs - lastWatchdogMs >= WATCHDOG_EVERY_MS) {
      lastWatchdogMs = nowMs;
      parts.publisher.tick(nowMs);
      // Offered with every watchdog tick; the publisher keeps to its own period (statsEveryMs).
      parts.publisher.publishStats(nowMs, () => ({
        cameras: parts.input.counters(),
        rejected: parts.input.rejected(),
        loop: { ...stats },
        link: parts.link?.status() ?? null,
      }));
    }
  };
  // The head of the queue first, as soon as it can go: a frame once its detections are in.
  const fuseReady = async () => {
    while (queue[0] && (queue[0].kind === 'device' || queue[0].done)) {
      const q = queue.shift()!;
      if (q.kind === 'device') {
        stats.deviceMessages += 1;
        clock.saw(q.tsMs);
        checkpointer?.fusedDevice();
        await emit(parts.fusion.onDevice(q.message));
        await advance();
        continue;
      }
      detecting -= 1;
      const d = await q.promise;
      checkpointer?.fusedFrame(q.frame.cameraId, q.frame.captureMs);
      if (d) {
        stats.framesDetected += 1;
        parts.onDetections?.(d);
        clock.saw(d.captureMs);
        await emit(parts.fusion.onDetections(d));
      }
      await advance();
    }
  };
  while (!signal?.aborted) {
    await fuseReady();
    if (ended && queue.length === 0) break;
    const waits: Promise<Step>[] = [];
    if (!ended && detecting < parts.detectInFlight) {
      nextInput ??= parts.input.next().then((input) => ({ kind: 'input' as const, input }));
      waits.push(nextInput);
    }
    const head = queue[0];
    if (head?.kind === 'frame') waits.push(head.promise.then(() => ({ kind: 'detected' as const })));
    // Live, time must pass even when no input comes: one timer at a time, not one per input.
    if (parts.wallMs) idle ??= sleep(IDLE_TICK_MS).then(() => null);
    if (parts.wallMs) looked ??= looks.next()?.then(() => ({ kind: 'looked' as const })) ?? null;
    if (looked) waits.push(looked);
    const step = await Promise.race(idle ? [...waits, idle] : waits);
    if (step === null) idle = null;
    if (step?.kind === 'looked') looked = null;
    if (step?.kind === 'input') {
      nextInput = null;
      const input = step.input;
      if (!input) {
        ended = true;
        continue;
      }
      stats.inputs += 1;
      if (input.kind === 'device') queue.push({ kind: 'device', message: input.message, tsMs: input.tsMs });
      else {
        const frame = input.frame;
        parts.input.markProcessed(frame.cameraId);
        const entry: Queued = { kind: 'frame', promise: detect(parts, frame, stats), done: false, frame };
        entry.promise.then(() => {
          entry.done = true;
        });
        queue.push(entry);
        detecting += 1;
      }
    }
    await fuseReady();
    // Live, time passes and answers come in between inputs too; in replay only inputs move it.
    if (parts.wallMs) await advance();
  }
  // Whatever is still open settles with the last input's time plus every wait, so a replay's end
  // reports what a live store would have reported after its last message. The plates falling
  // silent then is the input ending, not a fault: that health is not reported.
  // Looks the last events ask are awaited, and time moves on a step once they are in.
  for (let finalMs = clock.now() + FINAL_SETTLE_MS; ; finalMs += 1) {
    await looks.all();
    for (const a of looks.take()) await emit(parts.fusion.onLook(a.eventId, a.answer));
    const last = parts.fusion
      .tick(finalMs)
      .filter((o) => o.kind !== 'health' && !(o.kind === 'alert' && o.alert.kind === 'sensor-fault'))
      .filter((o) => !(o.kind === 'report' && o.report.body === 'health'));
    await emit(last);
    if (looks.inFlight === 0 && !last.some((o) => o.kind === 'look')) break;
  }
  await Promise.all([...pendingReports]);
  return stats;
}

async function detect(
  parts: LoopParts,
  frame: CameraFrame,
  stats: LoopStats,
): Promise<FrameDetections | null> {
  try {
    return await parts.detector.detect(frame);
  } catch (err) {
    // A frame the decoder refuses is skipped and counted; the loop runs on.
    stats.detectionErrors += 1;
    parts.log.warn('frame skipped: detection failed', {
      cameraId: frame.cameraId,
      frameIndex: frame.frameIndex,
      code: isWalkoutError(err) ? err.code : 'INTERNAL',
      err: (err as Error).message,
    });
    return null;
  }
}

async function deliver(
  parts: LoopParts,
  o: FusionOutput,
  stats: LoopStats,
  pendingReports: Set<Promise<void>>,
): Promise<void> {
  switch (o.kind) {
    case 'report': {
      stats.reports += 1;
      if (!parts.link) return;
      // Numbered in call order and durable when the promise resolves; awaiting each in turn would
      // hold the loop to the disk's flush rate, so they are only awaited at the end.
      pending(parts, parts.link.report(o.report, Math.round(o.tsMs)), pendingReports, o.report.body);
      return;
    }
    case 'cart':
      parts.publisher?.cart(o.tsMs, o.cart, o.ended);
      return;
    case 'alert':
      parts.log.info('alert', { ...o.alert });
      parts.publisher?.alert(o.alert);
      return;
    case 'health':
      parts.publisher?.plateHealth(o.health.sinceMs, o.health);
      return;
    case 'tracks':
      parts.publisher?.tracks(o.tsMs, o.tracks);
      return;
    case 'plates':
      parts.publisher?.plates(o.tsMs, o.plates);
      return;
  }
}

/** A store into the outbox under way; awaited at the loop's end. */
function pending(parts: LoopParts, write: Promise<void>, into: Set<Promise<void>>, body?: string): void {
  const p = write.catch((err: unknown) => {
    parts.log.error('report not stored in the outbox', { body, err: (err as Error).message });
  });
  into.add(p);
  p.finally(() => into.delete(p));
}

/** The store's time: the newest input's, plus wall time since it came when a wall clock is given. */
class StoreClock {
  private lastMs = 0;
  private wallAt = 0;
  constructor(private readonly wallMs?: () => number) {}

  saw(tsMs: number): void {
    if (tsMs <= this.lastMs) return;
    this.lastMs = tsMs;
    this.wallAt = this.wallMs?.() ?? 0;
  }

  now(): number {
    if (!this.wallMs || this.lastMs === 0) return this.lastMs;
    return this.lastMs + Math.max(0, this.wallMs() - this.wallAt);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
