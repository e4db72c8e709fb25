import type { Catalog, CatalogItem, StoreLayout } from '../../proto/index.ts';
import { Rng } from '../../simulator/core/rng.ts';
import type { FloorPlanParams } from '../../simulator/world/floorplan.ts';
import { randomFloorPlan } from '../../simulator/world/floorplan-random.ts';

/**
 * The stores the models learn from: floor plans, camera rigs (mounting height, lens, heading,
 * placement) and lighting. Variant 0 is the reference store exactly as shipped, so the edge's own
 * store is always in every split; every fourth other variant (1, 5, 9, 13) keeps the reference
 * floor under another rig, the rest get a generated floor (size, gondola count and orientation,
 * shelving, wall shelf, gates, planogram) with its own camera grid, under a varied rig likewise.
 */
export interface StoreVariant {
  index: number;
  layout: StoreLayout;
  /** The generated floor's parameters; null on the reference floor. */
  floor: FloorPlanParams | null;
  /** Renderer options: slow lighting swing and sensor noise. */
  lightingVariation: number;
  noiseSd: number;
}

export function storeVariant(base: StoreLayout, catalog: Catalog, index: number): StoreVariant {
  if (index === 0) return { index, layout: base, floor: null, lightingVariation: 0.06, noiseSd: 2 };
  const generated =
    index % 4 === 1
      ? null
      : randomFloorPlan(catalog, Rng.stream(index, 'models:floorplan'), {
          storeId: `${base.storeId}-v${index}`,
          name: `Generated store (data variant ${index})`,
        });
  const floor = generated?.layout ?? base;
  const rng = Rng.stream(index, 'models:variant');
  const heightM = rng.range(2.7, 3.5);
  const hfovDeg = rng.range(100, 120);
  // A rig is installed as a whole: one heading for all cameras, small per-camera placement errors.
  const yawDeg = rng.pick([0, 90, 180, 270]) + rng.range(-8, 8);
  const cameras = floor.cameras.map((c) => ({
    ...c,
    positionM: [c.positionM[0] + rng.range(-0.3, 0.3), c.positionM[1] + rng.range(-0.3, 0.3), heightM] as [
      number,
      number,
      number,
    ],
    yawDeg: yawDeg + rng.range(-3, 3),
    pitchDeg: rng.range(-4, 4),
    rollDeg: rng.range(-2, 2),
    lens: { hfovDeg },
  }));
  return {
    index,
    layout: { ...floor, cameras },
    floor: generated?.params ?? null,
    lightingVariation: rng.range(0.03, 0.14),
    noiseSd: rng.range(1, 4),
  };
}

const SHAPES = ['can', 'bottle', 'jar', 'bag', 'box', 'tray'] as const;
const PATTERNS = ['solid', 'stripes', 'band', 'dots', 'split', 'checker'] as const;

const hex = (rng: Rng) => `#${[0, 1, 2].map(() => rng.int(20, 235).toString(16).padStart(2, '0')).join('')}`;

/**
 * Products that are not in the catalogue, for teaching nothing and testing that the classifier
 * says "unknown" rather than guessing. No novel product repeats a known product's look exactly;
 * half reuse the catalogue's palette (hard: close to known products), half have new colours.
 */
export function novelProducts(known: Catalog, count: number, seed: number): CatalogItem[] {
  const rng = Rng.stream(seed, 'models:novel');
  const palette = [...new Set(known.items.flatMap((i) => [i.appearance.primary, i.appearance.secondary]))];
  const looks = new Set(
    known.items.map(
      (i) =>
        `${i.appearance.shape}|${i.appearance.primary}|${i.appearance.secondary}|${i.appearance.pattern}`,
    ),
  );
  const out: CatalogItem[] = [];
  while (out.length < count) {
    const shape = rng.pick(SHAPES);
    const pattern = rng.pick(PATTERNS);
    const fromPalette = out.length % 2 === 0;
    const primary = fromPalette ? rng.pick(palette) : hex(rng);
    const secondary = fromPalette ? rng.pick(palette) : hex(rng);
    const look = `${shape}|${primary}|${secondary}|${pattern}`;
    if (primary === secondary || looks.has(look)) continue;
    looks.add(look);
    const w = rng.range(0.05, 0.2);
    const sizeM: [number, number, number] = [w, Math.min(w, rng.range(0.04, 0.1)), rng.range(0.03, 0.28)];
    out.push({
      sku: `novel-${seed}-${out.length}`,
      name: `Novel product ${out.length}`,
      unitWeightG: { mean: 200, sd: 2 },
      priceMinor: 100,
      soldBy: 'unit',
      appearance: { shape, sizeM, primary, secondary, pattern },
    });
  }
  return out;
}
