/**
 * Taps around the edge's real stages for npm run bench:edge: an InputSource that notes when the loop
 * takes each input, and a fusion whose three entry points are timed (the loop calls nothing else of
 * it). Neither changes what the stages do; the loop (edge/loop.ts) runs unmodified between them.
 */
import { readFileSync } from 'node:fs';
import type { Fusion } from '../../edge/fusion/engine.ts';
import type { FusionOutput } from '../../edge/fusion/outputs.ts';
import { WrappedInput } from '../../edge/io/wrapped-input.ts';
import type { EdgeInput, InputSource } from '../../edge/stages.ts';
import type { EdgeLatencies } from './latency.ts';

/** Wall ms spent in each synchronous fusion call: on the loop's thread, so nearly its CPU. */
export interface FusionTimes {
  onDevice: { calls: number; ms: number };
  onDetections: { calls: number; ms: number };
  tick: { calls: number; ms: number };
}

export class ProbedInput extends WrappedInput {
  inputs = 0;
  frames = 0;
  /** Wall ms the last device message was taken. */
  lastDeviceTakenMs = 0;
  /** The newest store time handed out (progress lines). */
  storeMs = 0;
  ended = false;

  constructor(
    inner: InputSource,
    private readonly latencies: EdgeLatencies | null,
  ) {
    super(inner);
  }

  async next(): Promise<EdgeInput | null> {
    const input = await this.inner.next();
    const now = performance.now();
    if (!input) {
      this.ended = true;
      return null;
    }
    this.inputs += 1;
    if (input.kind === 'frame') {
      this.frames += 1;
      this.storeMs = Math.max(this.storeMs, input.frame.captureMs);
      this.latencies?.frameTaken(input.frame.cameraId, input.frame.frameIndex, now);
    } else {
      this.storeMs = Math.max(this.storeMs, input.tsMs);
      this.lastDeviceTakenMs = now;
    }
    return input;
  }
}

/**
 * The real fusion, timed. `storeNow()` is the store time of the tick running (the weight tap fires
 * inside it); outputs after the input ended (the last frames in the detector, then the replay's
 * final settle, which moves time 60 s on) are not the store's own timing: they are left out of the
 * latencies and counted in `afterEnd` (outputs, and VISIT_CLOSED among them).
 */
export function probeFusion(fusion: Fusion, input: ProbedInput, latencies: EdgeLatencies) {
  const times: FusionTimes = {
    onDevice: { calls: 0, ms: 0 },
    onDetections: { calls: 0, ms: 0 },
    tick: { calls: 0, ms: 0 },
  };
  let storeNowMs = 0;
  const afterEnd = { outputs: 0, closes: 0 };
  // Wall ms each input handled since the last tick was taken: the tick acts on all of them.
  let oldestTakenMs = Number.POSITIVE_INFINITY;
  const see = (outs: FusionOutput[], storeMs: number, wallMs: number, takenMs: number) => {
    if (input.ended) {
      afterEnd.outputs += outs.length;
      for (const o of outs)
        if (o.kind === 'report' && o.report.body === 'visit' && o.report.visit.kind === 'VISIT_CLOSED')
          afterEnd.closes += 1;
      return;
    }
    latencies.outputs(outs, { storeMs, wallMs, stepWallMs: wallMs - takenMs });
  };
  const probed = {
    onDevice(msg: Parameters<Fusion['onDevice']>[0]): FusionOutput[] {
      const t0 = performance.now();
      const out = fusion.onDevice(msg);
      const t1 = performance.now();
      times.onDevice.calls += 1;
      times.onDevice.ms += t1 - t0;
      oldestTakenMs = Math.min(oldestTakenMs, input.lastDeviceTakenMs);
      see(out, storeNowMs, t1, input.lastDeviceTakenMs);
      return out;
    },
    onDetections(d: Parameters<Fusion['onDetections']>[0]): FusionOutput[] {
      const t0 = performance.now();
      const out = fusion.onDetections(d);
      const t1 = performance.now();
      times.onDetections.calls += 1;
      times.onDetections.ms += t1 - t0;
      const takenMs = latencies.frameFused(d.cameraId, d.frameIndex, t0, t1) ?? t0;
      oldestTakenMs = Math.min(oldestTakenMs, takenMs);
      see(out, storeNowMs, t1, takenMs);
      return out;
    },
    onLook(eventId: string, answer: Parameters<Fusion['onLook']>[1]): FusionOutput[] {
      const out = fusion.onLook(eventId, answer);
      see(out, storeNowMs, performance.now(), performance.now());
      return out;
    },
    tick(nowMs: number): FusionOutput[] {
      storeNowMs = nowMs;
      const t0 = performance.now();
      const out = fusion.tick(nowMs);
      const t1 = performance.now();
      times.tick.calls += 1;
      times.tick.ms += t1 - t0;
      see(out, nowMs, t1, Number.isFinite(oldestTakenMs) ? oldestTakenMs : t0);
      oldestTakenMs = Number.POSITIVE_INFINITY;
      return out;
    },
  };
  return {
    // The loop calls these only (edge/loop.ts).
    fusion: probed as unknown as Fusion,
    times,
    storeNow: () => storeNowMs,
    afterEnd: () => ({ ...afterEnd }),
  };
}

/** The detector stage alone: a fusion that takes everything and does nothing. */
export function idleFusion(): Fusion {
  return {
    onDevice: () => [],
    onDetections: () => [],
    onLook: () => [],
    tick: () => [],
  } as unknown as Fusion;
}

/**
 * CPU ms of this process's main thread (the loop's: input, fusion, messages to the workers), from
 * /proc/self/task/{pid}/stat on Linux; null elsewhere.
 */
export function mainThreadCpuMs(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is 3rd, utime 14th, stime 15th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    return (ticks * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK) is not reachable from Node). */
const CLOCK_TICKS_PER_S = 100;
