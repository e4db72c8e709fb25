/**
 * Writes the reference store (proto/stores/reference/{layout,catalog}.json). The JSON files are
 * the contract; this script is how they were made, kept so the store can be regenerated with a
 * change of dimensions rather than edited by hand. Run: npx tsx scripts/make-reference-store.ts
 */
import { writeFileSync } from 'node:fs';
import { Catalog, type CatalogItem, StoreLayout } from '../proto/index.ts';

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
  return {
    sku,
    name,
    unitWeightG: { mean: meanG, sd: Math.max(0.5, Math.round(meanG * 0.012 * 10) / 10) },
    priceMinor,
    soldBy,
    appearance: {
      shape,
      sizeM,
      primary: palette[colourPairs[k]![0]]!,
      secondary: palette[colourPairs[k]![1]]!,
      pattern: patterns[(k * 7 + Math.floor(k / palette.length)) % patterns.length]!,
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

// ---- Layout: 12 × 9 m, entrance on the south wall, four gondolas running north-south, one wall shelf.
const shelfHeights = [0.15, 0.6, 1.05, 1.5];
const gondolaXs = [2.55, 4.85, 7.15, 9.45];
const gondola = { depth: 0.9, y0: 3.0, y1: 5.6, height: 1.8 };
const fixtures: StoreLayout['fixtures'] = [];
const shelves: StoreLayout['shelves'] = [];
const plates: StoreLayout['plates'] = [];
const plateSlots: { plateId: string; shelfId: string; widthM: number }[] = [];

gondolaXs.forEach((cx, g) => {
  const id = `G${g + 1}`;
  fixtures.push({
    id,
    kind: 'gondola',
    box: {
      minM: [cx - gondola.depth / 2, gondola.y0, 0],
      maxM: [cx + gondola.depth / 2, gondola.y1, gondola.height],
    },
  });
  for (const facing of ['-x', '+x'] as const) {
    shelfHeights.forEach((z, s) => {
      const shelfId = `${id}${facing === '-x' ? 'W' : 'E'}${s + 1}`;
      const x0 = facing === '-x' ? cx - gondola.depth / 2 : cx;
      shelves.push({
        id: shelfId,
        fixtureId: id,
        facing,
        box: { minM: [x0, gondola.y0, z], maxM: [x0 + gondola.depth / 2, gondola.y1, z + 0.4] },
      });
      const n = 2;
      const w = (gondola.y1 - gondola.y0) / n;
      for (let k = 0; k < n; k++) {
        const plateId = `${shelfId}-P${k + 1}`;
        plates.push({
          id: plateId,
          shelfId,
          centerM: [round(x0 + gondola.depth / 4), round(gondola.y0 + w * (k + 0.5)), z],
          sizeM: [round(w - 0.02), 0.41],
          capacityG: 20000,
          sampleRateHz: 60,
        });
        plateSlots.push({ plateId, shelfId, widthM: w });
      }
    });
  }
});
const wall = { x0: 4.0, x1: 8.0, y0: 8.55, y1: 9.0, height: 1.9 };
fixtures.push({
  id: 'W1',
  kind: 'wall-shelf',
  box: { minM: [wall.x0, wall.y0, 0], maxM: [wall.x1, wall.y1, wall.height] },
});
shelfHeights.forEach((z, s) => {
  const shelfId = `W1S${s + 1}`;
  shelves.push({
    id: shelfId,
    fixtureId: 'W1',
    facing: '-y',
    box: { minM: [wall.x0, wall.y0, z], maxM: [wall.x1, wall.y1, z + 0.4] },
  });
  for (let k = 0; k < 4; k++) {
    const plateId = `${shelfId}-P${k + 1}`;
    plates.push({
      id: plateId,
      shelfId,
      centerM: [round(wall.x0 + 0.5 + k), round((wall.y0 + wall.y1) / 2), z],
      sizeM: [0.98, 0.41],
      capacityG: 20000,
      sampleRateHz: 60,
    });
    plateSlots.push({ plateId, shelfId, widthM: 1 });
  }
});

// Planogram: twins side by side on one shelf, then single SKUs; the heaviest go low, as stores do.
const planogram: StoreLayout['planogram'] = [];
const byShelf = new Map<string, string[]>();
for (const slot of plateSlots)
  byShelf.set(slot.shelfId, [...(byShelf.get(slot.shelfId) ?? []), slot.plateId]);
const twoPlateShelves = [...byShelf.values()].filter((p) => p.length === 2);
const unitsFor = (sku: string, widthM: number) => {
  const item = catalog.items.find((i) => i.sku === sku)!;
  const perRow = Math.max(1, Math.floor(widthM / item.appearance.sizeM[0]));
  const rows = Math.max(1, Math.floor(0.4 / item.appearance.sizeM[1]));
  const byWeight = Math.floor(15000 / item.unitWeightG.mean);
  return Math.max(2, Math.min(perRow * rows, byWeight, 40));
};
twins.forEach(([a, b], i) => {
  const shelf = twoPlateShelves[i * 4]!;
  planogram.push({ plateId: shelf[0]!, sku: a.sku, capacityUnits: unitsFor(a.sku, 1.3) });
  planogram.push({ plateId: shelf[1]!, sku: b.sku, capacityUnits: unitsFor(b.sku, 1.3) });
});
const used = new Set(planogram.map((p) => p.plateId));
const rest = [...singles, ...loose];
let r = 0;
for (const slot of plateSlots) {
  if (used.has(slot.plateId)) continue;
  const sku = rest[r % rest.length]!.sku;
  r += 1;
  planogram.push({ plateId: slot.plateId, sku, capacityUnits: unitsFor(sku, slot.widthM) });
}

// Cameras: a 4 × 2 grid at 3 m with wide lenses, so every floor point is in at least two views.
const cameras: StoreLayout['cameras'] = [];
[1.5, 4.5, 7.5, 10.5].forEach((x, i) => {
  [2.4, 6.6].forEach((y, j) => {
    cameras.push({
      id: `cam-${j + 1}${i + 1}`,
      positionM: [x, y, 3.0],
      yawDeg: 0,
      pitchDeg: 0,
      rollDeg: 0,
      resolution: { width: 640, height: 480 },
      lens: { hfovDeg: 115 },
      fps: 10,
    });
  });
});

const layout = StoreLayout.parse({
  schemaVersion: 1,
  storeId: 'ref-001',
  name: 'Walkout reference convenience store',
  floorPolygonM: [
    [0, 0],
    [12, 0],
    [12, 9],
    [0, 9],
  ],
  ceilingHeightM: 3.2,
  fixtures,
  shelves,
  plates,
  planogram,
  cameras,
  gates: [
    {
      id: 'gate-in',
      kind: 'entry',
      lineM: [
        [1.0, 1.0],
        [2.0, 1.0],
      ],
      scannerId: 'scanner-in',
      sensorId: 'beam-in',
    },
    {
      id: 'gate-out',
      kind: 'exit',
      lineM: [
        [3.0, 1.0],
        [4.0, 1.0],
      ],
      scannerId: 'scanner-out',
      sensorId: 'beam-out',
    },
  ],
});

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

const dir = new URL('../proto/stores/reference/', import.meta.url);
writeFileSync(new URL('layout.json', dir), `${JSON.stringify(layout, null, 2)}\n`);
writeFileSync(new URL('catalog.json', dir), `${JSON.stringify(catalog, null, 2)}\n`);
console.log(
  `reference store: ${layout.plates.length} plates, ${catalog.items.length} SKUs, ${layout.cameras.length} cameras`,
);
