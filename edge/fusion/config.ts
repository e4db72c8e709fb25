import { z } from 'zod';
import { VisitConfig } from '../visits/config.ts';

export const AttributionConfig = z
  .object({
    /**
     * Hands are looked for from this long (ms) before the shelf became active (the reach starts
     * well before the weight moves; 1500 against 800 measured: fewer right attributions in doubt)...
     */
    handBeforeMs: z.number().int().nonnegative().default(1500),
    /** ...until this long (ms) after it settled (the hand leaves before the plate settles). */
    handAfterMs: z.number().int().nonnegative().default(200),
    /** Metres around a plate's footprint that still count as in its volume (reach, box error). */
    plateMarginM: z.number().nonnegative().default(0.1),
    /** Height (m) above a plate's surface that counts as in its volume. */
    reachAboveM: z.number().positive().default(0.3),
    /**
     * Score of one hand ray through the volume against a nearness of 1 (a track standing at the
     * shelf front). Low: a ray from a ceiling camera also passes over plates beyond the hand.
     */
    handWeight: z.number().nonnegative().default(0.5),
    /**
     * Score of one triangulated hand point (two cameras' rays meeting) in the plate's volume. A ray
     * alone passes over many plates beyond the hand; a point does not: of the points in a plate's
     * volume during its event, 1037 were at the picker's hand and 17 at another shopper's
     * (benchmarks/accuracy/hand-points.ts; see edge/tracking/hands.ts `handPoints`). Measured with
     * benchmarks/accuracy/replay-attribution.ts over the 22 runs of c080f8c (then
     * benchmarks/results/accuracy-baseline; 1108 events): pairing only sightings linked
     * to one track, 1020 right and 83 wrong (38 of them sent to review); pairing those with an
     * unlinked one too, at a 5 cm gap, 1024 and 79 (34). Counting a sighting that made a point
     * by its point only, not by its ray, gave 1025 and 78 but took the rays of the second of two
     * shoppers reaching into one plate (a hand located just outside its volume as it came and
     * went), so the event was no longer split between them (baseline seed 1, `npm run bench:accuracy
     * -- --scenario baseline --seeds 1-1 --minutes 5`: 12 to 8 of 12 perfect).
     */
    pointWeight: z.number().nonnegative().default(4),
    /**
     * A sighting whose hand was located (a point) farther than this (m) from the plates' volume
     * counts for nothing: its ray passed over the plates, its hand was elsewhere. Not nearer: the
     * second of two shoppers reaching into one plate had their hand located just outside the
     * volume as it came and went, and at 0 (every located sighting by its point only) the event was
     * no longer split between them (baseline seed 1, 12 to 8 of 12 perfect). Replayed
     * (replay-attribution.ts, with fixturesOcclude) on 22 runs of 2026-12-04 (1108 events): given to
     * another visit 36 to 33 at 0.1–0.5 m; seeds 1–8 of fcadc08 (407): 12 to 11 at 0.3–0.5 m;
     * seeds 9–16 of e7fe76b, not looked at before (434): 14 to 11 at 0.5 m.
     */
    pointFarM: z.number().nonnegative().default(0.5),
    /** Two sightings at most this far apart (ms) may be triangulated into a point. */
    pointMaxDtMs: z.number().int().nonnegative().default(60),
    /** Two rays passing farther apart than this (m) are not the same hand (0.15: 1024 and 79). */
    pointMaxGapM: z.number().positive().default(0.05),
    /** A point no sighting linked is the hand of the track standing within this reach (m) of it... */
    pointReachM: z.number().positive().default(0.9),
    /** ...unless another track stands within this much (m) as near. */
    pointReachTieM: z.number().nonnegative().default(0.25),
    /**
     * A hand ray counts for a plate only if no other shelf stops it first (PlateGeometry.reaches).
     * Replayed (replay-attribution.ts): right 1024 to 1030 of 1108 events (22 runs of 2026-12-04),
     * 366 to 370 of 407 (seeds 1–8 of fcadc08), 411 to 412 of 434 (seeds 9–16 of e7fe76b).
     */
    fixturesOcclude: z.boolean().default(true),
    /**
     * A track's hands and points count only if it stood within this (m) of the plates' front
     * edges during the event: a hand is within an arm's reach of its body, and a ray or point
     * linked to a track farther away was someone else's hand. Replayed (replay-attribution.ts) on
     * seeds 1–8 at dae6f9d (407 events): right 370 → 375 at 1.0 m (376 at 0.8; 1.0 as a crouching
     * shopper is placed up to 1.1 m off), given to another visit 11 both ways.
     */
    handReachM: z.number().positive().default(1),
    /**
     * A ray over a top plate counts nothing when its hand hangs at its own shopper's side: the ray
     * also passes within hangRadiusM of the track's body at hangZM (a hand hanging there), and the
     * hand's box is the size of a hand there rather than at the plate. How far along its ray a hand
     * is shows in its size: handSizeM is the median hand box's side times its true depth over the
     * focal length, and the box must fit the hanging hand better by hangMargin (in log of size).
     * `npx tsx benchmarks/accuracy/hanging-hands.ts DUMP...` on kept baseline runs (seeds 1, 9, 13,
     * 18): at the top shelf (1.5 m) it let 39 of 52 rays of hands elsewhere count for nothing, and
     * none of 28 of hands at the plate. Only for plates hangMinGapM or more above the hanging height:
     * a hand on its way to a lower shelf passes through every height between: at the 1.05 m
     * shelves it would remove 19 rays of hands at the plate against 8 elsewhere (the same command
     * with `--set hangMinGapM=0`). At the bottom shelf a first, two-sided version of the check
     * (stop 38, not kept, so no command gives it now) removed 228 of 324 rays of hands elsewhere
     * but 29 of 236 at the plate, and a put-back's own hand with them: the event went to another
     * visit (baseline seed 3). hangRadiusM 0 turns the check off.
     */
    hangRadiusM: z.number().nonnegative().default(0.4),
    hangZM: z.number().positive().default(0.75),
    hangMargin: z.number().nonnegative().default(0.05),
    hangMinGapM: z.number().nonnegative().default(0.45),
    handSizeM: z.number().positive().default(0.114),
    /** Spread (m) of the nearness score by distance from the shelf front. */
    nearestSigmaM: z.number().positive().default(0.6),
    /** Tracks farther than this (m) from the shelf front, with no hand in it, are not candidates. */
    nearestMaxM: z.number().positive().default(2),
    /**
     * The visit whose tracks' scores sum highest is the one charged (attribute.ts partyFirst), not
     * the visit of the single best track. Replayed on the 200 baseline visits (bench:accuracy
     * --detections-from, stop 35): perfect 174 → 176, sent to review 25 → 24, no seed worse; real
     * runs of the two seeds that changed: perfect 17 of 21 both, one more unreviewed.
     */
    partyFirst: z.boolean().default(true),
    /** Distance alone never makes an attribution surer than this. */
    nearestOnlyMaxConfidence: z.number().min(0).max(1).default(0.8),
  })
  .strict();
export type AttributionConfig = z.infer<typeof AttributionConfig>;

/** Whose hand holds the item, where shoppers of two visits reached into a plate (holder.ts). */
export const HolderConfig = z
  .object({
    /** Asked only with a second look stage; off, the hands in the plates alone decide. */
    enabled: z.boolean().default(true),
    /** Contested: another visit's best candidate scored at least this share of the top party's. */
    rivalShare: z.number().min(0).max(1).default(0.03),
    /**
     * A take's views: from this long (ms) before it settled (the item left the plate about
     * 0.9 s before the shelf settled, and the hand takes 0.5-1 s to come away)...
     */
    takeFromMs: z.number().int().nonnegative().default(700),
    /** ...to this long after (frames later than handAfterMs are not in when it resolves). */
    takeToMs: z.number().int().nonnegative().default(150),
    /** A put-back's views: from this long (ms) before the shelf moved, up to the moment it did. */
    putFromMs: z.number().int().nonnegative().default(900),
    /**
     * A take's hand went in empty: seen from this long (ms) before the shelf moved. A bystander
     * holding a product of their own holds it before and after (baseline seed 9: a shopper
     * inspecting nuts was given another's four packs).
     */
    emptyFromMs: z.number().int().nonnegative().default(1200),
    /** Tracks compared at most: the top and the best of each other party near it. */
    maxTracks: z.number().int().min(2).default(3),
    /**
     * A view is of the hand that went to the plates: per frame the track's hand nearest them, and
     * only hands within this much (m, on the floor, at the plates' height) of them while any is
     * (0: the best-seen hand of each frame, whichever it is).
     */
    viewNearM: z.number().nonnegative().default(0.5),
    /** Views read per contested track at most, while the item is surely in the hand... */
    viewsPerTrack: z.number().int().positive().default(5),
    /** ...and while the hand is surely empty. */
    emptyViews: z.number().int().nonnegative().default(2),
    /** A hand holds the product when its best view's item score × candidate share is this high... */
    minEvidence: z.number().min(0).max(1).default(0.3),
    /** ...and every rival's hand at most this fraction of that. */
    rivalRatio: z.number().min(0).max(1).default(0.5),
    /**
     * A track whose own take settled this long (ms) before the event began, or since, holds what
     * it took (shoppers look at a product for seconds): its hand is no evidence. At 2000, a
     * shopper who took rice 2.2 s before another took tuna beside them was given the tuna
     * (baseline seed 9).
     */
    ownTakeMs: z.number().int().nonnegative().default(3000),
    /**
     * Only a take given to the track that scored highest of all is its own: one given to it as the
     * best of its party, while another visit's track scored higher, says its party took, not that
     * its hand holds the item (baseline seed 3: a corn can given to a member as their party's best
     * silenced that member's hand at their own take 3 s later, and another visit was charged).
     */
    ownTakeTopOnly: z.boolean().default(true),
    /** The holder's party's share of the belief once a look found the holder. */
    share: z.number().min(0).max(1).default(0.9),
  })
  .strict();
export type HolderConfig = z.infer<typeof HolderConfig>;

export const FusionConfig = z
  .object({
    attribution: AttributionConfig.default(AttributionConfig.parse({})),
    visits: VisitConfig.default(VisitConfig.parse({})),
    /** One plate's change in several reaches by shoppers of different visits (reaches.ts). */
    reaches: z
      .object({
        unitTolerance: z.number().min(0).max(0.5).default(0.1),
        minShare: z.number().min(0).max(1).default(0.3),
      })
      .strict()
      .default({ unitTolerance: 0.1, minShare: 0.3 }),
    /** Whose hand holds the item, where shoppers of two visits reached into a plate (holder.ts). */
    holder: HolderConfig.default(HolderConfig.parse({})),
    /**
     * Lines given through a track may move to another's member this long (ms) after their event,
     * when the tracker finds the track had followed someone else (swaps.ts): re-id gave two
     * swapped identities back 21 s after the crowd that swapped them (baseline seed 9).
     */
    swapLookbackMs: z.number().int().nonnegative().default(60_000),
    /** How long (ms) of track positions and hand sightings is kept for events settling late. */
    historyMs: z.number().int().positive().default(20_000),
    /** A settled weight event waits at most this long (ms) for the frames around it. */
    resolveWaitMs: z.number().int().nonnegative().default(250),
    /** A closing visit waits at most this long (ms) for shelf events that began before its last exit. */
    closeWaitMs: z.number().int().nonnegative().default(800),
    /**
     * ...and at most this long (ms) when one of them is the leaver's own put-back, held until it is
     * final (the weight stage's confirmAddedMs, 5 s, against a lean lifted off): its receipt then
     * comes a few seconds later, but without what they put back.
     */
    closeWaitHeldMs: z.number().int().nonnegative().default(6000),
    /**
     * A held addition is final before confirmAddedMs once no track has stood within leanReachM
     * (m, floor distance to its plates' fronts) for this long (ms): a hand resting on a plate
     * needs someone at the shelf to lift it off. A shopper who put something back and walked
     * straight out waited the whole 5 s for their receipt (bench:edge, exit → close 1.8 s). 0: never.
     */
    leanClearMs: z.number().int().nonnegative().default(1000),
    /**
     * Arm's reach plus where a track may be misplaced (a crouching shopper, up to 1.1 m), from the
     * plates' side of the shelf only: a shopper at the other face of the gondola cannot reach them.
     */
    leanReachM: z.number().positive().default(1.5),
    /**
     * Open carts are stated again this often (ms) even when unchanged, so the live publisher's
     * watchdog (20 min for carts) never ends the cart of a shopper who is still browsing; an
     * unchanged statement publishes nothing.
     */
    restateCartsEveryMs: z.number().int().positive().default(300_000),
    /**
     * A weight event the weights cannot settle alone waits at most this long (store ms) for its
     * second look (held-item model and classifier on the hand's main-stream crop); then it is
     * resolved on the weights alone. A look of 4 views is 8 model calls (2.2 and 2.7 ms each on one
     * thread, per the models' cards) and 8 main-stream reads: far less, unless the camera is slow.
     */
    lookWaitMs: z.number().int().nonnegative().default(1500),
    /** Hand sightings (frames) a second look reads at most. */
    lookViews: z.number().int().positive().default(4),
    /**
     * A look whose classifier put less than this share of its belief on the candidates saw
     * something else (another product, the wrong thing in the hand): it decides nothing.
     */
    lookMinCandidateMass: z.number().min(0).max(1).default(0.3),
    /**
     * A look decides only when it gives its choice at least this probability; a split look (the
     * classifier torn between twins) leaves the weights' reading and confidence as they were.
     * Without it, a 50/50 look halved the confidence of a right reading (weight-twins, seed 1).
     */
    lookDecideP: z.number().min(0).max(1).default(0.8),
    /** A line a look flagged (an item the classifier rejects as unknown) is reported at most this sure. */
    lookFlagConfidence: z.number().min(0).max(1).default(0.3),
    /**
     * A shelf event that went to a track on no visit is kept this long (ms): if the track turns out
     * to be a member's (bound late, or leaving with a member who had none), the event is theirs.
     */
    claimWithinMs: z.number().int().nonnegative().default(1_800_000),
    /** A line believed less than this goes to the cloud with its doubt (the cloud's review decides). */
    reviewBelow: z.number().min(0).max(1).default(0.6),
    /**
     * Every plate's stock is stated again at least this often (ms), changed or not, so the live
     * publisher's watchdog (2 min) keeps quiet plates on the map; unchanged statements publish nothing.
     */
    plateRestateMs: z.number().int().positive().default(30_000),
  })
  .strict();
export type FusionConfig = z.infer<typeof FusionConfig>;
