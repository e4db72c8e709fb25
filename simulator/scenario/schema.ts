import { z } from 'zod';

const Probability = z.number().min(0).max(1);
const Rate = z.number().nonnegative();

/**
 * A scenario: who comes to the store and how they behave, and how the devices misbehave.
 * Scenario files are JSON validated by this schema; every field has a default so a scenario says
 * only how it differs from an ordinary morning.
 */
export const Scenario = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/, 'must be lower-case letters, digits and "-"'),
    description: z.string().min(1),
    /** Relative to the scenario file; default: the reference store shipped in proto/. */
    layout: z.string().optional(),
    catalog: z.string().optional(),
    /** Simulated start time; fixed so that runs are reproducible. */
    startTime: z.string().datetime().default('2026-01-05T09:00:00Z'),
    arrivals: z
      .object({
        shoppersPerHour: Rate.default(120),
        maxInStore: z.number().int().positive().default(30),
        /** Shoppers already present when the simulation starts would be unscanned: so none are; the first arrive at once. */
        groupProbability: Probability.default(0.1),
        groupSize: z.tuple([z.number().int().min(2), z.number().int().min(2)]).default([2, 3]),
        tailgateProbability: Probability.default(0),
        staffVisitsPerHour: Rate.default(0),
      })
      .strict()
      .prefault({}),
    behaviour: z
      .object({
        itemsPerVisit: z
          .object({ mean: z.number().positive(), max: z.number().int().positive() })
          .strict()
          .default({ mean: 4, max: 12 }),
        /** Chance that one reach takes several units at once. */
        multiPickProbability: Probability.default(0.15),
        inspectProbability: Probability.default(0.5),
        putBackProbability: Probability.default(0.12),
        /** Of put-backs, the share that land on another plate than the item came from. */
        misplacedProbability: Probability.default(0.05),
        /** Of misplaced put-backs, the share that go next to a product of nearly the same weight. */
        misplacedOnTwinProbability: Probability.default(0.3),
        /** Chance that a shopper leans on or rests a hand on a plate before picking. */
        leanProbability: Probability.default(0.1),
        /** Chance, per item in a group's visit, that it is handed to another member. */
        handoffProbability: Probability.default(0.1),
        /** 0: shoppers choose plates evenly; 1: most go to a few popular plates. */
        popularity: Probability.default(0.2),
        /** Share of all shelf visits that go to plates whose product has a weight twin (under 3% apart). */
        twinShelfBias: Probability.default(0),
        walkSpeedMps: z.number().positive().default(1.0),
      })
      .strict()
      .prefault({}),
    sensors: z
      .object({
        noiseSdG: z.number().nonnegative().default(2.5),
        driftGPerHour: z.number().nonnegative().default(3),
        dropoutsPerPlatePerHour: Rate.default(0),
        dropoutSeconds: z.number().positive().default(3),
        stuckPerPlatePerHour: Rate.default(0),
        stuckSeconds: z.number().positive().default(20),
        /** Plates whose real stock differs from the planogram (swapped with a neighbour's). */
        planogramErrors: z.number().int().nonnegative().default(0),
      })
      .strict()
      .prefault({}),
    cameras: z
      .object({
        lightingVariation: Probability.default(0.15),
        noiseSd: z.number().nonnegative().default(4),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Scenario = z.infer<typeof Scenario>;
