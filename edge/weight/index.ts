/**
 * The edge's weight stage: plate samples → settled per-shelf events and plate health
 * (ShelfWeights), live plate contents (ShelfContents), events → product readings (identify) and
 * whether to trust them (doubt). Wiring, per decoded `plateSamples` message and loop tick:
 *   weights.push(batch); const { events, health, faultChanges } = weights.advance(nowMs);
 *   for (const e of events) { const hs = identify(e, contents, catalog, config, { carriedSkus });
 *     if (!doubt(hs, config)) contents.applyHypothesis(hs[0]) … }
 */
export { defaultWeightConfig, WeightConfig } from './config.ts';
export { type Candidate, ShelfContents } from './contents.ts';
export {
  doubt,
  type IdentifiedHypothesis,
  type IdentifyContext,
  identify,
  type WeightDoubt,
} from './identify.ts';
export { lookCandidates } from './look.ts';
export { type FaultChange, ShelfWeights, type WeightOutput } from './plates.ts';
