/**
 * Two shoppers of two visits at one shelf, through the fusion with scripted stages: v1's (track
 * t1) enters at +0.6 s, v2's (t2) at +1.1 s; from +3 s to +3.9 s one of them takes a cola, and both
 * their hands are seen over the plate, t2's more often. For the fusion's tests of who gets a
 * contested take (edge/fusion/holder.test.ts, swaps.test.ts).
 */
import type { FusionConfig } from '../../edge/fusion/config.ts';
import { Fusion } from '../../edge/fusion/engine.ts';
import type { FusionOutput } from '../../edge/fusion/outputs.ts';
import type { IdentifyStage, WeightStage } from '../../edge/stages.ts';
import type {
  HandSighting,
  IdentitySwap,
  LookAnswer,
  LookRequest,
  Track,
  WeightEvent,
} from '../../edge/types.ts';
import { defaultWeightConfig } from '../../edge/weight/config.ts';
import { ShelfContents } from '../../edge/weight/contents.ts';
import { doubt, identify, type WeightDoubt } from '../../edge/weight/identify.ts';
import type { DecodedMessage } from '../../proto/mqtt/payloads.ts';
import { testCatalog, testLayout } from './weight-trace.ts';

export const T0 = 1_767_600_000_000;
export const catalog = testCatalog([{ sku: 'cola', meanG: 352, sdG: 4.2 }]);
export const layout = testLayout(
  [{ id: 'S1', plates: 2 }],
  [{ plateId: 'S1-P1', sku: 'cola', capacityUnits: 20 }],
);
const centre = layout.plates[0]!.centerM;

/** The cola taken off S1-P1. */
export const take = (startMs = T0 + 3000, settledMs = T0 + 3900): WeightEvent => ({
  eventId: `S1@${startMs}`,
  shelfId: 'S1',
  plates: [{ plateId: 'S1-P1', deltaG: -352 }],
  deltaG: -352,
  startMs,
  settledMs,
  positionM: centre,
});

/** A hand straight above the plate, seen by one ceiling camera in frame `frameIndex`. */
export const hand = (trackId: string, captureMs: number, frameIndex: number, score = 0.9): HandSighting => ({
  cameraId: 'cam-1',
  captureMs,
  frameIndex,
  bboxPx: { x: 100, y: 100, w: 8, h: 8 },
  rayOriginM: [centre[0], centre[1], 3],
  rayDirection: [0, 0, -1],
  trackId,
  score,
});

/** The cola put back onto S1-P1 instead (an addition, held until it is final). */
export const putBack = (): WeightEvent => {
  const e = take();
  return { ...e, plates: [{ plateId: 'S1-P1', deltaG: 352 }], deltaG: 352 };
};

/**
 * The fusion's outputs to +8 s. With `onLook`, a second look stage: each look is answered with
 * what it returns ('none': never). With `swap`, the tracker reports those identities exchanged
 * back at `swap.atMs`. With `putBackFinalMs`, the event is `putBack()`, held from when it settles
 * until then (as the weight stage holds an addition for confirmation), and both hands are seen
 * from 0.9 s before it.
 */
export function twoShoppers(opts: {
  config: FusionConfig;
  onLook?: (request: LookRequest) => LookAnswer | null | 'none';
  swap?: IdentitySwap;
  putBackFinalMs?: number;
  /** The weights' doubt about their reading, whatever it is (none by default: one cola is sure). */
  doubt?: WeightDoubt;
}): FusionOutput[] {
  const e = opts.putBackFinalMs === undefined ? take() : putBack();
  const finalMs = opts.putBackFinalMs ?? e.settledMs;
  const handsFromMs = opts.putBackFinalMs === undefined ? e.startMs : e.startMs - 900;
  let emitted = false;
  let clockMs = 0;
  const weights: WeightStage = {
    push() {},
    advance(nowMs) {
      clockMs = nowMs;
      const events = !emitted && nowMs >= finalMs ? [e] : [];
      if (events.length > 0) emitted = true;
      return { events, health: [], faultChanges: [] };
    },
    activeSince: () => new Map(),
    held: () => (!emitted && clockMs >= e.settledMs ? [e] : []),
    confirm() {},
    state: () => null,
    restore() {},
  };
  const contents = new ShelfContents(layout, catalog);
  const identifyStage: IdentifyStage = (ev, carried) => {
    const hs = identify(ev, contents, catalog, defaultWeightConfig, { carriedSkus: carried });
    return { hypotheses: hs, doubt: opts.doubt ?? doubt(hs, defaultWeightConfig) };
  };
  const track = (trackId: string, bornMs: number, xy: [number, number], tMs: number): Track => ({
    trackId,
    floorXyM: tMs < bornMs + 1000 ? [0.3, 1.5] : xy,
    velocityMps: [0, 0],
    state: 'confirmed',
    bornMs,
    lastSeenMs: tMs,
    bornXyM: [0.3, 1.5],
  });
  const fusion = new Fusion(
    layout,
    catalog,
    {
      weights,
      identify: identifyStage,
      contents,
      tracker: {
        update: (frame) => ({
          tracks: [
            track('t1', T0 + 500, [1.2, 1.4], frame.captureMs),
            ...(frame.captureMs >= T0 + 1000 ? [track('t2', T0 + 1000, [1.5, 1.4], frame.captureMs)] : []),
          ],
          personTrack: [],
          ...(opts.swap?.atMs === frame.captureMs ? { swaps: [opts.swap] } : {}),
        }),
        end() {},
        state: () => null,
        restore() {},
      },
      hands: (frame) =>
        frame.captureMs >= handsFromMs && frame.captureMs <= e.settledMs
          ? [
              hand('t1', frame.captureMs, frame.frameIndex),
              ...(frame.captureMs % 200 === 0 ? [] : [hand('t2', frame.captureMs, frame.frameIndex)]),
              hand('t2', frame.captureMs, frame.frameIndex),
            ]
          : [],
      looks: opts.onLook !== undefined,
    },
    opts.config,
  );
  const out: FusionOutput[] = [];
  const device = (message: unknown) => out.push(...fusion.onDevice(message as DecodedMessage));
  const open = (visitId: string, tsMs: number) =>
    device({
      kind: 'gateCommand',
      id: 'gate-in',
      payload: {
        commandId: visitId,
        gateId: 'gate-in',
        tsMs,
        action: 'open',
        scanId: visitId,
        visitId,
        party: 1,
      },
    });
  const pass = (tsMs: number) =>
    device({
      kind: 'gatePassage',
      id: 'gate-in',
      payload: { passageId: `in-${tsMs}`, gateId: 'gate-in', sensorId: 'beam', tsMs, direction: 'in' },
    });
  for (let t = T0 + 400; t <= T0 + 8000; t += 100) {
    if (t === T0 + 400) open('v1', t);
    if (t === T0 + 600) pass(t);
    if (t === T0 + 900) open('v2', t);
    if (t === T0 + 1100) pass(t);
    out.push(...fusion.onDetections({ cameraId: 'cam-1', frameIndex: t - T0, captureMs: t, detections: [] }));
    for (const o of fusion.tick(t)) {
      out.push(o);
      if (o.kind !== 'look' || !opts.onLook) continue;
      const answer = opts.onLook(o.request);
      if (answer !== 'none') out.push(...fusion.onLook(o.request.eventId, answer));
    }
  }
  return out;
}

/** The cart lines sent to the cloud, in order. */
export const cartLines = (out: FusionOutput[]) =>
  out.flatMap((o) => (o.kind === 'report' && o.report.body === 'cart' ? [o.report.cart] : []));
