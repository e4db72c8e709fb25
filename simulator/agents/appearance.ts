import type { Rng } from '../core/rng.ts';
import type { PersonAppearance, PersonRole } from '../world/types.ts';

/** Staff wear this uniform; no shopper's clothes use these colours. */
export const STAFF_UNIFORM = { topColour: '#0b6e4f', bottomColour: '#1b1b1b' } as const;

const TOPS = [
  '#c0392b',
  '#e74c3c',
  '#2980b9',
  '#3498db',
  '#8e44ad',
  '#f1c40f',
  '#ecf0f1',
  '#2c3e50',
  '#7f8c8d',
  '#d35400',
  '#f39c12',
  '#16a085',
  '#fd79a8',
  '#6c5ce7',
  '#a0522d',
  '#ffffff',
  '#000000',
  '#95a5a6',
  '#b33771',
  '#3c6382',
];
const BOTTOMS = [
  '#1e3799',
  '#0c2461',
  '#2f3640',
  '#000000',
  '#7f8c8d',
  '#c8a165',
  '#4a4a4a',
  '#596275',
  '#3d3d3d',
  '#6d4c41',
];
const HAIR = [
  '#0f0f0f',
  '#2b1d14',
  '#4e3524',
  '#6f4e37',
  '#b88b4a',
  '#e3c16f',
  '#a33a1d',
  '#9e9e9e',
  '#dcdcdc',
];
const SKIN = ['#f7d7c4', '#eec1a2', '#d9a066', '#c68642', '#8d5524', '#5c3a1e', '#3b2414'];
const JACKETS = [
  '#1f2a44',
  '#4b5320',
  '#c19a6b',
  '#111111',
  '#5a5a5a',
  '#6d1a2a',
  '#4f6d8f',
  '#8b5a2b',
  '#e8e4d8',
  '#2e5e4e',
];
const BACKPACKS = [
  '#d62828',
  '#f77f00',
  '#fcbf49',
  '#2a9d8f',
  '#1d1d1d',
  '#264653',
  '#e76f51',
  '#7b2cbf',
  '#52b788',
];
const HAIR_STYLES: { style: PersonAppearance['hairStyle']; weight: number }[] = [
  { style: 'short', weight: 0.45 },
  { style: 'long', weight: 0.3 },
  { style: 'bald', weight: 0.1 },
  { style: 'cap', weight: 0.15 },
];

function weighted<T>(rng: Rng, list: { style: T; weight: number }[]): T {
  let r = rng.next() * list.reduce((s, x) => s + x.weight, 0);
  for (const x of list) {
    r -= x.weight;
    if (r < 0) return x.style;
  }
  return list[list.length - 1]!.style;
}

/**
 * A varied person: height 1.5–1.95 m, shoulders in proportion, clothes, hair and skin. Jackets and
 * backpacks come from `outfitRng` so that adding them left every other draw of `rng` (and so the
 * agents' behaviour under a seed) as it was.
 */
export function makeAppearance(rng: Rng, role: PersonRole, outfitRng: Rng = rng): PersonAppearance {
  const heightM = Math.round(Math.min(1.95, Math.max(1.5, rng.gaussian(1.72, 0.09))) * 1000) / 1000;
  const shoulderWidthM =
    Math.round(Math.min(0.5, Math.max(0.36, heightM * 0.24 + rng.gaussian(0, 0.015))) * 1000) / 1000;
  const staff = role === 'staff';
  return {
    heightM,
    shoulderWidthM,
    topColour: staff ? STAFF_UNIFORM.topColour : rng.pick(TOPS),
    bottomColour: staff ? STAFF_UNIFORM.bottomColour : rng.pick(BOTTOMS),
    hairColour: rng.pick(HAIR),
    hairStyle: weighted(rng, HAIR_STYLES),
    skinColour: rng.pick(SKIN),
    basket: staff ? true : rng.chance(0.65),
    // Real shoppers differ by more than one top colour: 20 tops would leave look-alikes in any crowd.
    jacketColour: !staff && outfitRng.chance(0.35) ? outfitRng.pick(JACKETS) : null,
    backpackColour: !staff && outfitRng.chance(0.25) ? outfitRng.pick(BACKPACKS) : null,
  };
}
