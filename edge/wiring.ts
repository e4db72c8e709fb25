/**
 * The edge's stages put together for one store: the one place that names the concrete classes, so
 * the fusion and the loop see only the interfaces of edge/stages.ts. The CLI, the tests and the
 * benchmarks all build their fusion here, so they run the same edge.
 */
import type { Catalog } from '../proto/catalog/schema.ts';
import { cameraModel } from '../proto/layout/projection.ts';
import type { StoreLayout } from '../proto/layout/schema.ts';
import { parseWith } from '../proto/validate.ts';
import type { EdgeConfig } from './config.ts';
import { Fusion } from './fusion/engine.ts';
import type { ResolveTrace } from './fusion/outputs.ts';
import type { IdentifyStage, TrackerStage, WeightStage } from './stages.ts';
import { trackerConfig } from './tracking/config.ts';
import { DEFAULT_HAND_OPTIONS, handSightings } from './tracking/hands.ts';
import { FloorTracker } from './tracking/tracker.ts';
import { birthZonesFor } from './tracking/zones.ts';
import type { FrameDetections, Track, WeightEvent } from './types.ts';
import {
  doubt,
  identify,
  lookCandidates,
  ShelfContents,
  ShelfWeights,
  WeightConfig,
} from './weight/index.ts';

export function buildFusion(
  layout: StoreLayout,
  catalog: Catalog,
  config: Pick<EdgeConfig, 'fusion' | 'weight' | 'tracker'> & {
    /**
     * Taps: every weight event as it settles, every resolution (benchmarks, evidence), every frame's
     * tracking with the tracks at any time (MOT files).
     */
    observe?: {
      weightEvent?: (e: WeightEvent) => void;
      resolve?: (t: ResolveTrace) => void;
      tracked?: (
        frame: FrameDetections,
        update: ReturnType<TrackerStage['update']>,
        tracksAt: (tsMs: number) => Track[],
      ) => void;
    };
    /**
     * A SecondLook stage will answer the fusion's `look` outputs (the loop's `secondLook`). Not
     * EdgeConfig's `secondLook` (which asks for it live): callers passing their EdgeConfig here
     * would otherwise hold events for looks nobody takes.
     */
    answersLooks?: boolean;
  },
): Fusion {
  const weightConfig = parseWith(WeightConfig, config.weight, 'edge configuration: weight', 'CONFIG_INVALID');
  const shelves = new ShelfWeights(layout, weightConfig);
  const weights: WeightStage = {
    push: (batch) => shelves.push(batch),
    advance: (nowMs) => {
      const out = shelves.advance(nowMs);
      for (const e of out.events) config.observe?.weightEvent?.(e);
      return out;
    },
    activeSince: () => shelves.activeSince(),
    state: () => shelves.state(),
    restore: (state) => shelves.restore(state),
    held: () => shelves.held(),
    confirm: (shelfId) => shelves.confirm(shelfId),
  };
  const contents = new ShelfContents(layout, catalog);
  const identifyStage: IdentifyStage = (event, carriedSkus) => {
    const hypotheses = identify(event, contents, catalog, weightConfig, { carriedSkus });
    const why = doubt(hypotheses, weightConfig);
    return { hypotheses, doubt: why, lookFor: lookCandidates(hypotheses, why, contents, weightConfig) };
  };
  const tracking = trackerConfig(config.tracker);
  const handOptions = {
    ...DEFAULT_HAND_OPTIONS,
    armAccept: tracking.armAccept,
    armReject: tracking.armReject,
  };
  const cameras = layout.cameras.map(cameraModel);
  const byId = new Map(cameras.map((c) => [c.id, c]));
  const floor = new FloorTracker({ config: tracking, cameras, birthZones: birthZonesFor(layout, tracking) });
  const tracker: TrackerStage = {
    update: (frame) => {
      const update = floor.update(frame);
      // The MOT files hold what the map shows: entering and departing tracks too.
      config.observe?.tracked?.(frame, update, (tsMs) => floor.shown(tsMs));
      return update;
    },
    end: (trackId, tsMs) => {
      floor.depart(trackId, tsMs);
    },
    state: () => floor.state(),
    restore: (state) => floor.restore(state),
  };
  return new Fusion(
    layout,
    catalog,
    {
      weights,
      identify: identifyStage,
      contents,
      tracker,
      hands: (frame, personTrack, tracks) => {
        const camera = byId.get(frame.cameraId);
        return camera ? handSightings(frame, camera, personTrack, tracks, handOptions) : [];
      },
      looks: config.answersLooks ?? false,
    },
    config.fusion,
    config.observe?.resolve,
  );
}
