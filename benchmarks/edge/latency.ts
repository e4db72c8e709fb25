/**
 * The edge benchmark's latency pairing (npm run bench:edge), pure: times are given, never read, so
 * the pairing is tested without a clock. Three latencies, each from a start to the output it causes:
 *
 * - frame → track update: wall ms from the loop taking a frame from the input to the fusion's
 *   onDetections returning for it (the tracker has updated; its `tracks` output is emitted then).
 *   Split into the wait for the detector (taken → detections reach the fusion) and the fusion call.
 * - weight settled → cart event: from the weight stage emitting a settled event (the
 *   `observe.weightEvent` tap, inside fusion.tick) to the first `cart` report that names it in its
 *   evidence (`weight:{eventId}`; the `cart` output follows in the same batch).
 * - last exit → VISIT_CLOSED: from the visit's last MEMBER_EXITED (its tsMs is the exit passage's)
 *   to its VISIT_CLOSED report.
 *
 * Replay runs faster than the store's clock, so a wait the fusion makes in store time (frames
 * around a weight event, a closing visit's shelves) takes less wall time than it would live. The
 * last two are therefore kept in store time, plus the wall time the edge took to act on the input
 * that let the output happen (`stepWallMs`: from the loop taking the oldest input handled since the
 * previous tick, to the tick's output). Live, store time is wall time, so
 * `liveMs = storeMs + stepWallMs` is what a shopper would wait. The replay's own wall time between
 * the two is kept too (`replayWallMs`), as a floor.
 */
import type { FusionOutput } from '../../edge/fusion/outputs.ts';

/** When an output came: the store clock the fusion was given, the wall clock, the step's delay. */
export interface OutputContext {
  storeMs: number;
  wallMs: number;
  /** Wall ms from the loop taking the input that led to this call, to its output. */
  stepWallMs: number;
}

export interface StoreLatency {
  storeMs: number;
  stepWallMs: number;
  liveMs: number;
  replayWallMs: number;
}

export class EdgeLatencies {
  /** Frame taken (wall ms), by `${cameraId}#${frameIndex}`, until the fusion has it. */
  private readonly taken = new Map<string, number>();
  private readonly settled = new Map<string, { storeMs: number; wallMs: number; settledMs: number }>();
  private readonly lastExit = new Map<string, { storeMs: number; wallMs: number }>();
  readonly frameToTrack: { totalMs: number; detectMs: number; fusionMs: number }[] = [];
  readonly weightToCart: (StoreLatency & { eventId: string; emitAfterSettleMs: number })[] = [];
  readonly exitToClosed: (StoreLatency & { visitId: string })[] = [];
  /** Closes with no exit seen first (a visit that began before the recording, or none exited). */
  closedWithoutExit = 0;

  frameTaken(cameraId: string, frameIndex: number, wallMs: number): void {
    this.taken.set(frameKey(cameraId, frameIndex), wallMs);
  }

  /** The fusion took a frame's detections at `startWallMs` and returned at `endWallMs`. */
  frameFused(cameraId: string, frameIndex: number, startWallMs: number, endWallMs: number): number | null {
    const key = frameKey(cameraId, frameIndex);
    const takenMs = this.taken.get(key);
    if (takenMs === undefined) return null;
    this.taken.delete(key);
    this.frameToTrack.push({
      totalMs: endWallMs - takenMs,
      detectMs: startWallMs - takenMs,
      fusionMs: endWallMs - startWallMs,
    });
    return takenMs;
  }

  /** The weight stage emitted a settled event while the fusion's store clock was `storeMs`. */
  weightSettled(eventId: string, settledMs: number, storeMs: number, wallMs: number): void {
    if (!this.settled.has(eventId)) this.settled.set(eventId, { storeMs, wallMs, settledMs });
  }

  /** Every output of a fusion call, with when it came. */
  outputs(outs: readonly FusionOutput[], at: OutputContext): void {
    for (const o of outs) {
      if (o.kind !== 'report') continue;
      const r = o.report;
      if (r.body === 'cart') {
        for (const ev of r.cart.evidence) {
          if (!ev.startsWith('weight:')) continue;
          const eventId = ev.slice('weight:'.length);
          const s = this.settled.get(eventId);
          if (!s) continue;
          // The first cart report of an event times it; a second plate's lines come in the same batch.
          this.settled.delete(eventId);
          this.weightToCart.push({
            eventId,
            emitAfterSettleMs: s.storeMs - s.settledMs,
            ...storeLatency(at.storeMs - s.storeMs, at, s.wallMs),
          });
        }
      } else if (r.body === 'visit') {
        const v = r.visit;
        if (v.kind === 'MEMBER_EXITED') this.lastExit.set(v.visitId, { storeMs: o.tsMs, wallMs: at.wallMs });
        else if (v.kind === 'VISIT_CLOSED') {
          const exit = this.lastExit.get(v.visitId);
          if (!exit) {
            this.closedWithoutExit += 1;
            continue;
          }
          this.lastExit.delete(v.visitId);
          this.exitToClosed.push({
            visitId: v.visitId,
            ...storeLatency(o.tsMs - exit.storeMs, at, exit.wallMs),
          });
        }
      }
    }
  }

  /** Weight events emitted that no cart report named (unattributed, unexplained, or still waiting). */
  weightWithoutCart(): number {
    return this.settled.size;
  }
}

function storeLatency(storeMs: number, at: OutputContext, startWallMs: number): StoreLatency {
  return {
    storeMs,
    stepWallMs: at.stepWallMs,
    liveMs: storeMs + at.stepWallMs,
    replayWallMs: at.wallMs - startWallMs,
  };
}

function frameKey(cameraId: string, frameIndex: number): string {
  return `${cameraId}#${frameIndex}`;
}
