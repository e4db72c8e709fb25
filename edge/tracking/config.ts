/**
 * The floor tracker's thresholds, each named and described. Defaults were tuned on the baseline
 * scenario's recorded detections (benchmarks/accuracy/bench-tracking.ts); parse once with
 * `trackerConfig()` and pass the frozen result in.
 */
import { z } from 'zod';

const positive = z.number().positive();
const unit = z.number().min(0).max(1);

export const TrackerConfig = z
  .object({
    headHeightM: positive
      .default(1.75)
      .describe(
        'Height of a head box centre above the floor, straight below a camera: the plane a head ray is cut with.',
      ),
    headDropPerM: z
      .number()
      .min(0)
      .default(0.1)
      .describe(
        'The head plane drops this much per metre from the nadir (an oblique head box takes in the shoulders).',
      ),
    headSizeM: positive
      .default(0.23)
      .describe(
        "Apparent size of a head box (the square root of its area, in metres at its depth) straight below a camera: how far away a head is follows from its box's size in pixels (a crouching shopper's head is nearer the camera, its box bigger).",
      ),
    headSizePerMetreM: z
      .number()
      .min(0)
      .default(0.042)
      .describe(
        '...growing this much per metre from the nadir (an oblique box takes in the side of the head). Both fit to the heads of kept runs: benchmarks/accuracy/head-size.ts.',
      ),
    standingHeadM: positive
      .default(1.62)
      .describe("Height of a standing shopper's head centre, against which a head's size tells a crouch."),
    crouchDropM: z
      .number()
      .min(0)
      .default(0)
      .describe(
        "A head whose size puts it more than this below a standing head is placed at that lower height, not on the head plane (0: never). Off: cut at the head plane, a shopper crouching to a low shelf is placed up to 1.1 m towards the camera, and at 0.5 they were placed where they crouched and every kept seed's MOTA rose (seeds 1-8 of fcadc08, bench-tracking.ts with re-id: mean 0.895 to 0.912; IDF1 0.935 to 0.936), but identities suffered (the seed-5 fixture of tracker.test.ts, without re-id: IDF1 0.916 to 0.832, bench-tracking.ts --fixture test/support/fixtures/tracking-baseline-seed5.jsonl --floor-hz 5 --set crouchDropM=0.5) and in the whole edge so did receipts: perfect on seeds 9-16 (91 visits) 0.76 to 0.70, tracks of two visits swapping people (npm run bench:accuracy -- --scenario baseline --seeds 9-16 --minutes 5: e7fe76b against it with 0.5 and the attribution of 069e05f; seed 12 again with the attribution alone: 9 of 9 perfect, as at e7fe76b, against 7 with the crouch). The crouch is read frame by frame; a track that knew its person was crouching would not jump between the two placements.",
      ),
    crouchPlaceDropM: z
      .number()
      .min(0)
      .default(0.5)
      .describe(
        "A head whose size puts it more than this below a standing head moves where its track is reported (0: never), not the point it is matched by: the reported point is the filter's plus the median offset of its heads' size placements over crouchPlaceMs (a head read as standing: none). Matching by such points (crouchDropM) swapped identities; reporting by them leaves matching as it was. Most floor IDF1 lost while a track followed its person was a crouching shopper placed 0.5-1 m towards a camera (benchmarks/accuracy/idf1-losses.ts); per head, the size placement is 0.08 m from a crouching shopper (median) where the head plane is 0.73 m (baseline seed 10, 161 heads; a scratch measurement, no kept command).",
      ),
    crouchPlaceMs: positive
      .default(600)
      .describe(
        "A track's reported point follows the median of its heads' size placements over this long...",
      ),
    crouchPlaceReadings: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe('...when there are at least this many of them.'),
    crouchMinScore: unit
      .default(0.6)
      .describe(
        'Only a head detected at least this surely is placed by its size: weaker boxes are looser, and at 0 a shopper walking upright was lost for 17 s (the 11-entry recording, bench-tracking.ts --rec REC --dets DETS --set crouchDropM=0.5 --set crouchMinScore=0: IDF1 0.953 to 0.910; at 0.6, 0.959).',
      ),
    personPointHeightM: z
      .number()
      .min(0)
      .default(0.9)
      .describe('Height of a person box centre above the floor, for a person seen without a head.'),
    headInPersonMarginPx: z
      .number()
      .min(0)
      .default(4)
      .describe('A head belongs to a person box when its centre lies inside the box grown by this margin.'),
    sigmaNadirM: positive
      .default(0.08)
      .describe('Observation noise (1σ, per axis) of a head straight below its camera.'),
    sigmaPerMetreM: z
      .number()
      .min(0)
      .default(0.05)
      .describe('Observation noise added per metre of floor distance from the camera nadir (oblique views).'),
    sigmaNoHeadFactor: positive
      .default(2.5)
      .describe('A person placed from its box alone (no head seen) is this many times noisier.'),
    sigmaCutFactor: positive
      .default(2)
      .describe('A head cut by the image border (its centre guessed) is this many times noisier.'),
    maxFromNadirM: positive
      .default(2.8)
      .describe(
        'A person placed farther than this from the camera nadir is not used: seen that obliquely, heads are confused with shoulders (errors of a metre); the reference store has every floor point within 2.6 m of some nadir.',
      ),
    accelNoiseMps2: positive
      .default(1.5)
      .describe('Kalman process noise: white acceleration spectral density of a walking person.'),
    estimateHeadHeight: z
      .boolean()
      .default(false)
      .describe(
        "Estimate each head's height with the track (kalman.ts: a crouching shopper). Off: measured on baseline seed 5 it placed people better (MOTP 0.114 against 0.121 m) but kept identities worse (IDF1 0.80 against 0.86 without re-id).",
      ),
    headSigmaM: positive
      .default(0.12)
      .describe("Prior spread (1σ) of a head's height about the head plane, for a person standing."),
    headWalkM2ps: positive
      .default(0.5)
      .describe(
        'Kalman process noise of the head height (random walk, m²/s): shoppers crouch to low shelves within a second.',
      ),
    headDeltaMinM: z
      .number()
      .default(-1.2)
      .describe('The head is never estimated lower than this below the head plane (crouching)...'),
    headDeltaMaxM: z.number().default(0.4).describe('...nor higher than this above it.'),
    maxSpeedMps: positive.default(2.5).describe('Velocities are clipped to this; shoppers do not run.'),
    highScore: unit.default(0.5).describe('ByteTrack stage 1: detections at or above this score.'),
    lowScore: unit
      .default(0.2)
      .describe(
        'ByteTrack stage 2: detections in [lowScore, highScore) may only continue a track already matched recently.',
      ),
    assignCostLimitM: positive
      .default(1)
      .describe(
        'Assignment: a pair costing more than this is never preferred to leaving both unpaired (lapjv cost_limit).',
      ),
    matchGateM: positive
      .default(0.9)
      .describe('Stage 1: the farthest an observation may be from a track predicted to its time.'),
    lowMatchGateM: positive.default(0.5).describe('Stage 2: the same for low-score observations.'),
    reacquireGateM: positive
      .default(0.9)
      .describe('A lost track may be re-acquired by an observation this far from where it was last seen...'),
    reacquireGrowthMps: z
      .number()
      .min(0)
      .default(0.6)
      .describe('...plus this much per second lost (a person may have walked on unseen)...'),
    reacquireMaxM: positive
      .default(3)
      .describe('...up to this distance (farther, only a steadily seen orphan observation may take it).'),
    reidWeightM: z
      .number()
      .min(0)
      .default(0.6)
      .describe(
        'With embeddings: the cost, in metres, of a re-id cosine distance of 1 (0 ignores embeddings).',
      ),
    reidMinSimilarity: z
      .number()
      .min(-1)
      .max(1)
      .default(0.3)
      .describe(
        'With embeddings: a lost track is never re-acquired by an observation less similar than this.',
      ),
    reidBankSize: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe(
        'Embeddings kept per track (the newest); similarity is the best over the bank. 100 as the AI City 2024 online tracker (FIELD-NOTES); on baseline seed 5, IDF1 0.945 against 0.888 with 20.',
      ),
    reidMinSeparationM: positive
      .default(0.8)
      .describe(
        "An embedding joins a track's bank only when no other track is this close (a clean, uncrowded view).",
      ),
    confirmHits: z
      .number()
      .int()
      .min(1)
      .default(4)
      .describe('A tentative track is confirmed (born, given an id) after this many matched observations...'),
    confirmWithinMs: positive
      .default(1500)
      .describe('...within this long of its first one; otherwise it is dropped.'),
    showAfterHits: z
      .number()
      .int()
      .min(0)
      .default(2)
      .describe(
        'A tentative track at the entry is given its id and shown on the map, as tentative, once matched this many times (0: only once confirmed). Only confirmed tracks are bound to visits or given hands.',
      ),
    lostAfterMs: positive
      .default(400)
      .describe('A track unmatched by every camera for this long is lost: it coasts and is not reported.'),
    endAfterMs: positive.default(8000).describe('A lost track ends after this long unseen.'),
    departFollowMs: z
      .number()
      .int()
      .min(0)
      .default(5000)
      .describe(
        'A track whose person went out through the exit is followed, on the map only, until unseen for lostAfterMs or for at most this long (0: it ends at the exit line).',
      ),
    coastMs: positive
      .default(1000)
      .describe(
        'A lost track stops extrapolating its velocity after this long (it stays where it was heading).',
      ),
    birthZoneOutsideM: positive
      .default(1.5)
      .describe("birthZonesFor(): a track may be born up to this far outside an entry gate's line..."),
    birthZoneInsideM: z.number().min(0).default(0.5).describe('...and up to this far inside it...'),
    birthZoneEndM: z.number().min(0).default(0.3).describe('...and this far past either end of the line.'),
    identitySwapMargin: z
      .number()
      .min(0)
      .default(0.15)
      .describe(
        "Re-id: a track whose latest clean views fit another track's gallery this much better (mean cosine) than its own exchanges identities with it (identity.ts; 0: never). Replaying baseline seeds 3 and 5's detections: floor IDF1 0.866 to 0.933 and 0.879 to 0.900; the recorded run unchanged (0.953); 0.1 to 0.25 within 0.01.",
      ),
    identityGalleryMs: positive
      .default(10_000)
      .describe("A track's gallery: its clean views of this long after its birth."),
    identityMinViews: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe(
        'A track is judged on at least this many clean views (3 against 6: IDF1 0.933 against 0.913 on seed 3)...',
      ),
    identityRecentMs: positive.default(2000).describe('...of this long.'),
    identityUnlikeMax: z
      .number()
      .default(0.6)
      .describe(
        "...and only one whose own gallery fits its latest views less than this (a clean view's best match in its own person's gallery is about 0.8-0.9; a kept seed-1 run with no such bound swapped a shopper's track with a track of no one at the entry, whose gallery held two people's views).",
      ),
    identitySelfMin: z
      .number()
      .min(-1)
      .max(1)
      .default(0.75)
      .describe(
        "A clean view this like its track's own gallery says the track still followed its person then: two tracks given back their identities had swapped people only since both last did (a swap's sinceMs, by which the fusion moves lines given meanwhile).",
      ),
    identityTakeLost: z
      .boolean()
      .default(false)
      .describe(
        "Whether a track may take a lost track's identity (its person would then be the one it follows). Off: on that seed-1 run it handed a leaving shopper's track to another visit's.",
      ),
    armAccept: z
      .number()
      .min(0)
      .default(0.7)
      .describe(
        'A hand goes to the track of the head the arm-link model gives at least this (above 1: never), whatever the person boxes say (edge/tracking/hands.ts)...',
      ),
    armReject: z
      .number()
      .min(0)
      .max(1)
      .default(0.3)
      .describe("...when every other track's head (and every head of no track) gets at most this."),
    birthSeparationM: positive
      .default(0.5)
      .describe(
        'No track is born this close to another live track (a second view of someone already tracked). 0.7 made one track of a party entering side by side (baseline seed 3: floor IDF1 0.74, 0.87 at 0.5; recorded run 0.949, 0.953); 0.3 to 0.55 measured the same.',
      ),
  })
  .strict();
export type TrackerConfig = z.infer<typeof TrackerConfig>;

/** Validated, defaults filled, frozen. */
export function trackerConfig(input: Partial<z.input<typeof TrackerConfig>> = {}): Readonly<TrackerConfig> {
  return Object.freeze(TrackerConfig.parse(input));
}
