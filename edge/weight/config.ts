import { z } from 'zod';

/**
 * Every threshold of the weight stage (events from plate samples, products from events). Defaults
 * start from ../shared/FIELD-NOTES.md: 50–60 Hz cells, 0.5–3 g noise at rest (14 g peaks on a bad
 * gondola), hours of drift, real units 3–7 % off the catalogue, lightest products near 40 g.
 */
export const WeightConfig = z
  .object({
    /** Samples are judged in blocks of this length (6 samples at 60 Hz, 5 at 50 Hz): mean and spread per block. */
    blockMs: z.number().positive().default(100),
    /** A batch is processed once its first sample is this old, so batches arriving out of order are sorted first. */
    reorderHoldMs: z.number().nonnegative().default(150),
    /** More pending batches than this on one plate are processed at once (a device clock ahead of ours). */
    maxPendingBatches: z.number().int().positive().default(20),
    /** Noise of a plate at rest before its own has been measured, grams (one sample's sd). */
    initialNoiseSdG: z.number().positive().default(3),
    /** A plate's measured noise is clamped to this range, grams. */
    minNoiseSdG: z.number().positive().default(0.3),
    maxNoiseSdG: z.number().positive().default(12),
    /** How fast the noise estimate follows quiet blocks (share of each new block). */
    noiseLearnRate: z.number().gt(0).lte(1).default(0.05),
    /** A block is quiet when its sd is under max(quietSdFloorG, quietSdFactor × noise). */
    quietSdFloorG: z.number().positive().default(3),
    quietSdFactor: z.number().positive().default(3),
    /** A quiet block whose mean moved more than max(levelTolFloorG, levelTolFactor × noise) from the last is not quiet. */
    levelTolFloorG: z.number().positive().default(5),
    levelTolFactor: z.number().positive().default(2.5),
    /** A plate is settled after this long of quiet blocks in a row; a shelf when all its plates are. */
    settleMs: z.number().positive().default(500),
    /** How fast a settled, idle plate's baseline follows its level (drift), share per block. */
    baselineFollowRate: z.number().gt(0).lte(1).default(0.1),
    /** A plate's change smaller than this is not part of an event, grams. */
    plateMinDeltaG: z.number().positive().default(6),
    /** An event needs at least one plate changed by this much, grams (lightest products are ~40 g). */
    eventMinG: z.number().positive().default(15),
    /**
     * A change that added weight (a put-back, or a hand resting on the shelf) is held this long
     * before it is final: if the shelf changes again meanwhile, both are judged as one change, so a
     * hand leaning and lifting off makes no event.
     */
    confirmAddedMs: z.number().nonnegative().default(5000),
    /**
     * A change's plates rest between reaches when two hands take in turn (steps.ts): blocks whose
     * means are within this of each other (grams) for restBlocks in a row are a rest. Wider than
     * levelTolFloorG: the cell still rings from the first take.
     */
    restTolG: z.number().positive().default(10),
    restBlocks: z.number().int().min(1).default(2),
    /** Null samples for this long make a dropout. */
    dropoutAfterMs: z.number().positive().default(250),
    /** The very same value repeated for this long is a stuck cell (live cells never repeat for long). */
    stuckAfterMs: z.number().positive().default(1000),
    /** A whole block repeating the previous value is not trusted as quiet (it may be the start of a stuck run). */
    suspectRepeatSamples: z.number().int().positive().default(6),
    /** No samples for this long (by the clock passed to advance) make a plate silent. */
    silentAfterMs: z.number().positive().default(2000),

    /** Identification: largest number of units of one product in one line (busy shelves merge reaches). */
    maxUnits: z.number().int().positive().default(8),
    /** Real units' weight off the catalogue mean, relative sd (field notes: 3–7 %). */
    unitRelativeSd: z.number().nonnegative().default(0.05),
    /** Uncertainty of one plate's settled change, grams (noise of the level, residual ringing). */
    levelSdG: z.number().positive().default(3),
    /** Prior of a reach taking several units rather than one (simulator: 0.15, two to four). */
    multiUnitPrior: z.number().gt(0).lte(1).default(0.15),
    /** Among several units, prior of k + 1 relative to k. */
    extraUnitPrior: z.number().gt(0).lte(1).default(0.7),
    /**
     * A product on a plate next to the changed ones, relative to one on them: an item lying across
     * shows on both plates, so a change on one plate alone is rarely its neighbour's product.
     */
    neighbourPrior: z.number().gt(0).lte(1).default(0.03),
    /** Prior of a product the contents do not place on or near the plates (misplaced put-back, wrong stock). */
    elsewherePrior: z.number().gt(0).lte(1).default(0.02),
    /** With the caller's carried SKUs: prior that a put-back is none of them (an edge miss). */
    uncarriedPutPrior: z.number().gt(0).lte(1).default(0.05),
    /** Among carried SKUs, weight of one the plate already holds (most put-backs go home) against 1. */
    carriedHomeWeight: z.number().positive().default(20),
    /** Prior of one item's weight spread over m plates: this to the power m − 1. */
    spreadPrior: z.number().gt(0).lte(1).default(0.3),
    /** Prior of two products in one run of plates (from what its plates hold). */
    twoProductPrior: z.number().gt(0).lte(1).default(0.1),
    /** A plate group explained by no product: prior, and the density of its change (1 / range in grams). */
    unexplainedPrior: z.number().gt(0).lte(1).default(0.002),
    unexplainedRangeG: z.number().positive().default(5000),
    /** Small residues explained by no product (a settling cell): prior and sd, grams. */
    residuePrior: z.number().gt(0).lte(1).default(0.1),
    residueSdG: z.number().positive().default(6),
    /** Items sold by weight (fruit): one piece's weight off the catalogue mean, relative sd. */
    looseRelativeSd: z.number().positive().default(0.2),
    /** Most hypotheses returned per event (after merging equal readings). */
    maxHypotheses: z.number().int().positive().default(8),
    /** A reading whose weight is further than this many sd from its expectation is doubtful. */
    misfitZ: z.number().positive().default(2.5),
    /** Weight twins: unit weights closer than this share of each other (a put-back's lookalikes). */
    twinRelative: z.number().positive().default(0.03),
    /**
     * A second look chooses between the reading's product, its weight twins and the products of
     * other single-product readings at least this probable (ones the weights cannot rule out).
     */
    lookAlternativeMinP: z.number().min(0).max(1).default(0.02),
    /** Below this posterior the best reading is not to be trusted alone (review or ask vision). */
    confidentProbability: z.number().gt(0).lt(1).default(0.8),
  })
  .strict();

export type WeightConfig = z.infer<typeof WeightConfig>;

/** The defaults, validated once and frozen. */
export const defaultWeightConfig: Readonly<WeightConfig> = Object.freeze(WeightConfig.parse({}));
