/**
 * Runs the floor tracker over recorded detections as the edge would (frames in capture order, one
 * update each) and samples its tracks on a fixed floor clock for scoring against the truth. Stands
 * in for the visit logic in one respect: a track lost just beyond an exit gate is ended (the
 * visit logic ends a track that left through the exit).
 */

import type { TrackerConfig } from '../../edge/tracking/config.ts';
import { FloorTracker } from '../../edge/tracking/tracker.ts';
import { beyondGate, birthZonesFor } from '../../edge/tracking/zones.ts';
import type { FrameDetections, Track } from '../../edge/types.ts';
import { insidePolygon } from '../../proto/layout/geometry.ts';
import { cameraModel } from '../../proto/layout/projection.ts';
import type { StoreLayout, Vec2 } from '../../proto/layout/schema.ts';
import type { MotFrame } from './mot-metrics.ts';
import type { Truth } from './truth.ts';

export interface ReplayResult {
  /** One per floor tick: truth and confirmed live tracks. */
  floor: MotFrame[];
  /** Every track confirmed, in order. */
  born: Track[];
  /** Tracker time per frame (update only), milliseconds. */
  updateMs: number[];
  /** Floor ticks' times (epoch ms), parallel to `floor`. */
  tickMs: number[];
}

/** How far beyond an exit gate's line a lost track counts as gone through it. */
const EXIT_REACH_M = 1.5;

export function replayTracking(options: {
  frames: readonly FrameDetections[];
  layout: Pick<StoreLayout, 'cameras' | 'gates'>;
  config: Readonly<TrackerConfig>;
  truth: Truth;
  floorHz: number;
  /** Drop embeddings (score the tracker without re-id). */
  withoutReid?: boolean;
  /** Score only inside this polygon (the sales floor): truth and tracks outside it are left out, as MOT's ignored regions. */
  scoredArea?: readonly Vec2[];
}): ReplayResult {
  const { frames, layout, config, truth } = options;
  const tracker = new FloorTracker({
    config,
    cameras: layout.cameras.map(cameraModel),
    birthZones: birthZonesFor(layout, config),
  });
  const exits = layout.gates.filter((g) => g.kind === 'exit');
  const periodMs = 1000 / options.floorHz;
  const sorted = [...frames].sort(
    (a, b) => a.captureMs - b.captureMs || a.cameraId.localeCompare(b.cameraId),
  );
  const first = truth.timesMs[0] ?? sorted[0]?.captureMs ?? 0;
  const last = Math.min(truth.timesMs.at(-1) ?? 0, sorted.at(-1)?.captureMs ?? 0);
  let tick = first;
  const floor: MotFrame[] = [];
  const tickMs: number[] = [];
  const born: Track[] = [];
  const updateMs: number[] = [];
  const sample = (upToMs: number) => {
    for (; tick <= upToMs && tick <= last; tick += periodMs) {
      const people = [...(truth.near(tick, periodMs / 2) ?? new Map<string, Vec2>())];
      const area = options.scoredArea;
      floor.push({
        gt: people
          .filter(([, p]) => !area || insidePolygon(area, p[0], p[1]))
          .map(([id, xyM]) => ({ id, xyM })),
        hyp: tracker
          .shown(tick)
          .filter((t) => t.state !== 'lost' && (!area || insidePolygon(area, t.floorXyM[0], t.floorXyM[1])))
          .map((t) => ({ id: t.trackId, xyM: t.floorXyM })),
      });
      tickMs.push(tick);
    }
  };
  for (const f of sorted) {
    sample(f.captureMs - 1e-9);
    const input = options.withoutReid ? { ...f, embeddings: undefined } : f;
    const t0 = performance.now();
    const r = tracker.update(input);
    updateMs.push(performance.now() - t0);
    born.push(...r.born);
    for (const t of r.tracks) {
      if (t.state === 'lost' && exits.some((g) => beyondGate(g, t.floorXyM, EXIT_REACH_M)))
        tracker.end(t.trackId, f.captureMs);
    }
  }
  sample(Number.POSITIVE_INFINITY);
  return { floor, born, updateMs, tickMs };
}
