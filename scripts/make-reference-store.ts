/**
 * Writes the reference store (proto/stores/reference/{layout,catalog}.json). The JSON files are
 * the contract; this script is how they were made, kept so the store can be regenerated with a
 * change of dimensions rather than edited by hand. The floor plan (a 12 × 9 m floor entered from
 * the south, four gondolas running north–south, a north wall shelf, twins side by side, a 4 × 2
 * camera grid) is `REFERENCE_FLOOR_PLAN` in simulator/world/floorplan.ts, which also makes the
 * data builder's other stores. Run: npx tsx scripts/make-reference-store.ts
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Catalog, type CatalogItem } from '../proto/index.ts';
import { floorPlan, REFERENCE_FLOOR_PLAN } from '../simulator/world/floorplan.ts';

type Product = Omit<CatalogItem, 'soldBy'> & { soldBy?: 'unit' | 'weight' };

const palette = [
  '#c0392b',
  '#2980b9',
  '#27ae60',
  '#f1c40f',
  '#8e44ad',
  '#e67e22',
  '#16a085',
  '#d35400',
  '#2c3e50',
  '#ecf0f1',
  '#7f8c8d',
  '#e84393',
];
const patterns = ['solid', 'stripes', 'band', 'dots', 'split', 'checker'] as const;

/**
 * Every product its own unordered pair of palette colours: real packaging differs between
 * products, and two products with the same two colours swapped (a `split` box turned round) are
 * the classifier's commonest confusion. 12 colours give 66 unordered pairs for 63 products.
 * Pairs are taken by colour distance d = 1…6 and, within each d, from primaries stepped by a
 * stride other than ±d, so that neighbouring products (the layout's weight twins) share no colour.
 */
const colourPairs: [number, number][] = [];
for (let d = 1; d <= palette.length / 2; d++) {
  for (let m = 0; m < palette.length; m++) {
    const i = ((d === 5 ? 1 : 5) * m) % palette.length;
    const j = (i + d) % palette.length;
    if (d === palette.length / 2 && i > j) continue; // (i, i + 6) and (i + 6, i) are one pair
    colourPairs.push([i, j]);
  }
}

/**
 * A plain print shows only the primary (and a bottle's cap): two plain products of one shape and
 * primary would look alike whatever their secondaries, so a later one takes the next pattern.
 */
const plainLooks = new Set<string>();
function patternFor(k: number, shape: CatalogItem['appearance']['shape'], primary: string) {
  let i = (k * 7 + Math.floor(k / palette.length)) % patterns.length;
  if (patterns[i] === 'solid') {
    const look = `${shape}|${primary}`;
    if (plainLooks.has(look)) i = (i + 1) % patterns.length;
    else plainLooks.add(look);
  }
  return patterns[i]!;
}

function product(
  sku: string,
  name: string,
  meanG: number,
  priceMinor: number,
  shape: CatalogItem['appearance']['shape'],
  sizeM: [number, number, number],
  k: number,
  soldBy: 'unit' | 'weight' = 'unit',
): Product {
  const primary = palette[colourPairs[k]![0]]!;
  return {
    sku,
    name,
    unitWeightG: { mean: meanG, sd: Math.max(0.5, Math.round(meanG * 0.012 * 10) / 10) },
    priceMinor,
    soldBy,
    appearance: {
      shape,
      sizeM,
      primary,
      secondary: palette[colourPairs[k]![1]]!,
      pattern: patternFor(k, shape, primary),
    },
  };
}

// Pairs are weight twins (under 3% apart) that the layout puts side by side on one shelf.
const twins: [Product, Product][] = [
  [
    product('cola-330', 'Cola can 330 ml', 352, 129, 'can', [0.066, 0.066, 0.115], 0),
    product('lemon-330', 'Lemon soda can 330 ml', 349, 119, 'can', [0.066, 0.066, 0.115], 1),
  ],
  [
    product('water-500', 'Still water 500 ml', 521, 89, 'bottle', [0.065, 0.065, 0.21], 2),
    product('sparkling-500', 'Sparkling water 500 ml', 527, 99, 'bottle', [0.065, 0.065, 0.21], 3),
  ],
  [
    product('tomato-sauce', 'Tomato sauce jar 400 g', 612, 249, 'jar', [0.075, 0.075, 0.13], 4),
    product('pesto-sauce', 'Basil pesto jar 390 g', 601, 329, 'jar', [0.075, 0.075, 0.13], 5),
  ],
  [
    product('chips-salt', 'Salted crisps 150 g', 168, 199, 'bag', [0.2, 0.07, 0.28], 6),
    product('chips-paprika', 'Paprika crisps 150 g', 171, 199, 'bag', [0.2, 0.07, 0.28], 7),
  ],
  [
    product('beans-can', 'Baked beans 415 g', 478, 109, 'can', [0.075, 0.075, 0.11], 8),
    product('corn-can', 'Sweetcorn 400 g', 469, 119, 'can', [0.075, 0.075, 0.11], 9),
  ],
  [
    product('pasta-penne', 'Penne 500 g', 516, 139, 'box', [0.16, 0.07, 0.2], 10),
    product('pasta-fusilli', 'Fusilli 500 g', 512, 139, 'box', [0.16, 0.07, 0.2], 11),
  ],
  [
    product('choc-milk', 'Milk chocolate bar 100 g', 108, 179, 'box', [0.16, 0.08, 0.015], 12),
    product('choc-dark', 'Dark chocolate bar 100 g', 110, 199, 'box', [0.16, 0.08, 0.015], 13),
  ],
  [
    product('juice-orange', 'Orange juice 1 l', 1085, 259, 'box', [0.09, 0.06, 0.22], 14),
    product('juice-apple', 'Apple juice 1 l', 1071, 239, 'box', [0.09, 0.06, 0.22], 15),
  ],
];

const singles: Product[] = [];
const families: [
  string,
  string,
  number,
  number,
  CatalogItem['appearance']['shape'],
  [number, number, number],
][] = [
  ['cereal', 'Cereal', 420, 349, 'box', [0.19, 0.07, 0.28]],
  ['biscuits', 'Biscuits', 230, 159, 'box', [0.18, 0.06, 0.06]],
  ['rice', 'Rice 1 kg', 1012, 229, 'bag', [0.14, 0.07, 0.22]],
  ['tuna', 'Tuna can', 185, 189, 'can', [0.085, 0.085, 0.035]],
  ['coffee', 'Coffee 250 g', 265, 549, 'bag', [0.09, 0.06, 0.18]],
  ['tea', 'Tea 20 bags', 62, 299, 'box', [0.13, 0.07, 0.075]],
  ['soap', 'Hand soap', 330, 249, 'bottle', [0.07, 0.05, 0.18]],
  ['shampoo', 'Shampoo', 420, 399, 'bottle', [0.08, 0.05, 0.2]],
  ['energy', 'Energy drink 250 ml', 275, 169, 'can', [0.053, 0.053, 0.135]],
  ['beer', 'Lager 500 ml', 735, 159, 'bottle', [0.07, 0.07, 0.24]],
  ['nuts', 'Salted peanuts 200 g', 214, 229, 'bag', [0.13, 0.05, 0.2]],
  ['bread', 'Sliced bread', 505, 219, 'bag', [0.12, 0.25, 0.12]],
  ['yogurt', 'Yogurt 4 pack', 520, 279, 'tray', [0.13, 0.13, 0.08]],
  ['candy', 'Gummy bears 200 g', 206, 149, 'bag', [0.14, 0.04, 0.2]],
  ['oil', 'Olive oil 500 ml', 870, 699, 'bottle', [0.065, 0.065, 0.28]],
];
// Variants of a family are far apart in weight (over 10%), unlike the twins.
families.forEach(([key, name, g, price, shape, size], f) => {
  const variants = ['classic', 'family', 'mini'];
  const factor = [1, 1.55, 0.62];
  variants.forEach((v, i) => {
    singles.push(
      product(
        `${key}-${v}`,
        `${name} (${v})`,
        Math.round(g * factor[i]!),
        Math.round(price * (0.6 + 0.55 * factor[i]!)),
        shape,
        size.map((s, j) => (j === 2 ? s : s * (0.8 + 0.2 * factor[i]!))) as [number, number, number],
        16 + f * 3 + i,
      ),
    );
  });
});
const loose = [
  product('banana', 'Bananas (per kg)', 182, 199, 'tray', [0.2, 0.04, 0.04], 61, 'weight'),
  product('apple', 'Apples (per kg)', 205, 289, 'tray', [0.08, 0.08, 0.08], 62, 'weight'),
];

const catalog = Catalog.parse({
  schemaVersion: 1,
  currency: 'EUR',
  items: [...twins.flat(), ...singles, ...loose],
});

const layout = floorPlan(catalog, REFERENCE_FLOOR_PLAN);

const dir = new URL('../proto/stores/reference/', import.meta.url);
writeFileSync(new URL('layout.json', dir), `${JSON.stringify(layout, null, 2)}\n`);
writeFileSync(new URL('catalog.json', dir), `${JSON.stringify(catalog, null, 2)}\n`);
// The shipped files are in the repository's formatting (short arrays on one line).
execFileSync('npx', ['biome', 'format', '--write', fileURLToPath(dir)], { stdio: 'ignore' });
console.log(
  `reference store: ${layout.plates.length} plates, ${catalog.items.length} SKUs, ${layout.cameras.length} cameras`,
);
