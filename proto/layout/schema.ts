import { z } from 'zod';
import { Text } from '../text.ts';

/** Store coordinates: metres, x east, y north, z up; the floor is z = 0. */
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
export const Vec2M = z.tuple([finite, finite]);
export const Vec3M = z.tuple([finite, finite, finite]);
export type Vec2 = z.infer<typeof Vec2M>;
export type Vec3 = z.infer<typeof Vec3M>;

/** Ids of layout things (stores, gates, cameras, plates) as every wire carries them. */
export const Id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, "_", "." or "-"');

export const BoxM = z
  .object({ minM: Vec3M, maxM: Vec3M })
  .strict()
  .refine(
    (b) => b.minM.every((v, i) => v < (b.maxM[i] ?? Number.NEGATIVE_INFINITY)),
    'minM must be below maxM on every axis',
  );
export type Box = z.infer<typeof BoxM>;

/** Which way a shelf faces: the side a shopper stands on to reach it. */
export const Facing = z.enum(['+x', '-x', '+y', '-y']);
export type Facing = z.infer<typeof Facing>;

export const Fixture = z
  .object({
    id: Id,
    kind: z.enum(['gondola', 'wall-shelf']),
    box: BoxM,
  })
  .strict();

export const Shelf = z
  .object({
    id: Id,
    fixtureId: Id,
    facing: Facing,
    /** The usable surface as a box: its min z is the surface the items stand on. */
    box: BoxM,
  })
  .strict();

export const Plate = z
  .object({
    id: Id,
    shelfId: Id,
    /** Centre of the plate's top surface. */
    centerM: Vec3M,
    /** Width along the shelf and depth into it, in metres. */
    sizeM: z.tuple([z.number().positive(), z.number().positive()]),
    capacityG: z.number().positive(),
    sampleRateHz: z.number().positive().max(1000),
  })
  .strict();

export const Facings = z
  .object({
    plateId: Id,
    sku: Id,
    /** How many units the plate holds when fully stocked. */
    capacityUnits: z.number().int().positive(),
  })
  .strict();

const Lens = z.union([
  z.object({ hfovDeg: z.number().gt(1).lt(179) }).strict(),
  z.object({ fxPx: z.number().positive(), fyPx: z.number().positive(), cxPx: finite, cyPx: finite }).strict(),
]);

export const Camera = z
  .object({
    id: Id,
    positionM: Vec3M,
    /**
     * Orientation of an overhead camera. yaw: compass heading of the image's "up" direction, degrees
     * counter-clockwise from north (+y). pitch: tilt away from straight down towards image-up.
     * roll: rotation about the optical axis. All zero means looking straight down with north up.
     */
    yawDeg: finite,
    pitchDeg: z.number().gte(-80).lte(80),
    rollDeg: finite,
    resolution: z
      .object({ width: z.number().int().min(16).max(8192), height: z.number().int().min(16).max(8192) })
      .strict(),
    lens: Lens,
    fps: z.number().positive().max(120),
  })
  .strict();

export const Gate = z
  .object({
    id: Id,
    kind: z.enum(['entry', 'exit']),
    /** The line a shopper crosses. Crossing from right to left of a→b (along a→b turned 90° counter-clockwise) is "in". */
    lineM: z.tuple([Vec2M, Vec2M]),
    scannerId: Id,
    sensorId: Id,
  })
  .strict();

export const StoreLayout = z
  .object({
    schemaVersion: z.literal(1),
    storeId: Id,
    name: Text(200),
    /** Sales floor outline, counter-clockwise, metres. */
    floorPolygonM: z.array(Vec2M).min(3),
    ceilingHeightM: z.number().positive(),
    fixtures: z.array(Fixture),
    shelves: z.array(Shelf),
    plates: z.array(Plate).min(1),
    planogram: z.array(Facings),
    cameras: z.array(Camera).min(1),
    gates: z.array(Gate).min(2),
  })
  .strict();

export type Fixture = z.infer<typeof Fixture>;
export type Shelf = z.infer<typeof Shelf>;
export type Plate = z.infer<typeof Plate>;
export type Facings = z.infer<typeof Facings>;
export type Camera = z.infer<typeof Camera>;
export type Gate = z.infer<typeof Gate>;
export type StoreLayout = z.infer<typeof StoreLayout>;
