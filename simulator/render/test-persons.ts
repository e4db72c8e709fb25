import { Catalog, loadJsonFile, StoreLayout, type Vec2, type Vec3 } from '../../proto/index.ts';
import { Rng } from '../core/rng.ts';
import type { ItemUnit, Person, PersonAppearance } from '../world/types.ts';

/** The reference store's layout and catalogue, validated. */
export function loadReferenceStore(): { layout: StoreLayout; catalog: Catalog } {
  const dir = new URL('../../proto/stores/reference/', import.meta.url);
  return {
    layout: loadJsonFile(new URL('layout.json', dir).pathname, StoreLayout),
    catalog: loadJsonFile(new URL('catalog.json', dir).pathname, Catalog),
  };
}

/**
 * Hand-placed people for tests and the profiling script: a person standing at `posM`, facing
 * `headingRad`, arms relaxed unless hand positions are given.
 */
export function standingPerson(
  personId: string,
  posM: Vec2,
  opts: {
    headingRad?: number;
    appearance?: Partial<PersonAppearance>;
    hands?: [Vec3 | null, Vec3 | null];
    holding?: [ItemUnit[], ItemUnit[]];
    basket?: ItemUnit[];
  } = {},
): Person {
  const appearance: PersonAppearance = {
    heightM: 1.75,
    shoulderWidthM: 0.44,
    topColour: '#3060c0',
    bottomColour: '#303040',
    hairColour: '#3a2a1a',
    hairStyle: 'short',
    skinColour: '#e0b090',
    basket: false,
    jacketColour: null,
    backpackColour: null,
    ...opts.appearance,
  };
  const h = opts.headingRad ?? 0;
  const f = [Math.cos(h), Math.sin(h)] as const;
  const l = [-f[1], f[0]] as const;
  // hands[0] is the left hand (as the agents pose them), hanging beside the hip.
  const rest = (side: number): Vec3 => [
    posM[0] + l[0] * side * 0.3 + f[0] * 0.05,
    posM[1] + l[1] * side * 0.3 + f[1] * 0.05,
    0.85,
  ];
  return {
    personId,
    visitId: `v-${personId}`,
    role: 'shopper',
    appearance,
    posM,
    headingRad: h,
    headM: [posM[0] + f[0] * 0.03, posM[1] + f[1] * 0.03, 0.93 * appearance.heightM],
    hands: [
      { posM: opts.hands?.[0] ?? rest(1), holding: opts.holding?.[0] ?? [], onPlateId: null, pressG: 0 },
      { posM: opts.hands?.[1] ?? rest(-1), holding: opts.holding?.[1] ?? [], onPlateId: null, pressG: 0 },
    ],
    basket: opts.basket ?? [],
    present: true,
    inStore: true,
  };
}

const TOPS = [
  '#c0392b',
  '#2980b9',
  '#27ae60',
  '#8e44ad',
  '#f39c12',
  '#ecf0f1',
  '#2c3e50',
  '#d35400',
  '#16a085',
];
const HAIR = ['#1a1a1a', '#3a2a1a', '#6b4a2b', '#d8b25a', '#9a9a9a', '#a0522d'];
const SKIN = ['#f1c9a5', '#e0ac69', '#c68642', '#8d5524', '#ffdbac'];
const STYLES = ['short', 'long', 'bald', 'cap'] as const;

/** A crowd of `n` people at random spots on a floor rectangle, some reaching out, some holding items. */
export function randomCrowd(n: number, seed: number, skus: readonly string[], area: [Vec2, Vec2]): Person[] {
  const rng = Rng.stream(seed, 'render:crowd');
  return Array.from({ length: n }, (_, i) => {
    const pos: Vec2 = [rng.range(area[0][0], area[1][0]), rng.range(area[0][1], area[1][1])];
    const heading = rng.range(-Math.PI, Math.PI);
    const reach = rng.chance(0.4);
    const hand: Vec3 | null = reach
      ? [pos[0] + Math.cos(heading) * 0.55, pos[1] + Math.sin(heading) * 0.55, rng.range(0.8, 1.5)]
      : null;
    const holding: ItemUnit[] = rng.chance(0.5)
      ? [{ itemId: `i${i}`, sku: rng.pick(skus), weightG: 300 }]
      : [];
    return standingPerson(`p${String(i).padStart(3, '0')}`, pos, {
      headingRad: heading,
      appearance: {
        heightM: rng.range(1.55, 1.95),
        shoulderWidthM: rng.range(0.38, 0.5),
        topColour: rng.pick(TOPS),
        bottomColour: rng.pick(TOPS),
        hairColour: rng.pick(HAIR),
        hairStyle: rng.pick(STYLES),
        skinColour: rng.pick(SKIN),
        basket: rng.chance(0.3),
      },
      hands: [hand, null],
      holding: [holding, []],
      basket: rng.chance(0.5) ? [{ itemId: `b${i}`, sku: rng.pick(skus), weightG: 200 }] : [],
    });
  });
}
