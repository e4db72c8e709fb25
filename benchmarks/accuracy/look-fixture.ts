/**
 * Writes edge/vision/fixtures/held-item.{jpg,json}: one hand holding an item in a frame the
 * simulator renders (reference store, crowded scenario, a seed no dataset uses), as the camera's
 * main stream shows it: the square of detect-stream pixels around the hand, at the main stream's
 * full scale, and what is true of it (the hand's and the item's boxes, the SKUs shoppers held).
 * edge/vision/second-look.test.ts runs the real models on it.
 *   npx tsx benchmarks/accuracy/look-fixture.ts
 */
import { writeFileSync } from 'node:fs';
import { type MomentSnapshot, runRenderer, sampleRun } from '../../models/data/run.ts';
import { storeVariant } from '../../models/data/variants.ts';
import { MAIN_STREAM_SCALE, REGION_JPEG_QUALITY } from '../../proto/index.ts';
import { cameraModel, project } from '../../proto/layout/projection.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';

const SEED = 4243;
/** Detect-stream pixels around the hand: the held-item window (56) with room for the crop. */
const SIDE_PX = 64;
const loaded = loadScenario('crowded');
const plan = { seed: SEED, variant: storeVariant(loaded.layout, loaded.catalog, 0) };
let moment: MomentSnapshot | null = null;
let found: { cameraId: string; hand: number[]; item: number[]; moment: MomentSnapshot } | null = null;
await sampleRun(
  { ...plan, scenario: loaded, moments: 1 },
  loaded.catalog,
  [],
  {
    momentEveryS: 4,
    warmUpPersons: 12,
    warmUpMaxS: 120,
    detectorFramesPerMoment: 8,
    heldItemShare: 1,
    itemCropsPerFrame: 0,
    novelShare: 0,
    cropPx: 64,
  },
  {
    snapshot: (m) => {
      moment = structuredClone(m);
    },
    detector: (_hwc, boxes, cameraId) => {
      if (found) return;
      const items = boxes.filter((b) => b[0] === 3 && b[5]! >= 0.9 && Math.max(b[3]!, b[4]!) >= 8);
      for (const hand of boxes.filter((b) => b[0] === 2 && b[5]! >= 0.9)) {
        const hx = hand[1]! + hand[3]! / 2;
        const hy = hand[2]! + hand[4]! / 2;
        const item = items.find((b) => Math.hypot(b[1]! + b[3]! / 2 - hx, b[2]! + b[4]! / 2 - hy) < 8);
        const inside = hx > SIDE_PX && hy > SIDE_PX && hx < 640 - SIDE_PX && hy < 480 - SIDE_PX;
        if (item && inside) {
          found = { cameraId, hand: hand.slice(1, 5), item: item.slice(1, 5), moment: moment! };
          return;
        }
      }
    },
    item: () => {},
    person: () => {},
    scene: () => {},
    moment: () => {},
  },
);
if (!found) throw new Error('no hand holding an item in view: try another seed');
const f = found as { cameraId: string; hand: number[]; item: number[]; moment: MomentSnapshot };
const [hx, hy, hw, hh] = f.hand as [number, number, number, number];
const area = {
  x: Math.round(hx + hw / 2) - SIDE_PX / 2,
  y: Math.round(hy + hh / 2) - SIDE_PX / 2,
  w: SIDE_PX,
  h: SIDE_PX,
};
const renderer = runRenderer(plan, loaded.catalog, []);
const r = renderer.renderRegion(
  f.cameraId,
  f.moment.persons,
  f.moment.tsMs,
  f.moment.frameIndex,
  area,
  MAIN_STREAM_SCALE,
);
const jpeg = await renderer.encodeJpeg(r.rgb, r.width, r.height, REGION_JPEG_QUALITY);
// The SKU in the hand: the held item whose hand projects nearest the hand's box centre.
const camera = cameraModel(plan.variant.layout.cameras.find((c) => c.id === f.cameraId)!);
let held = { sku: '', px: Number.POSITIVE_INFINITY };
for (const p of f.moment.persons)
  for (const h of p.hands) {
    const q = project(camera, h.posM);
    const px = q ? Math.hypot(q.u - (hx + hw / 2), q.v - (hy + hh / 2)) : Number.POSITIVE_INFINITY;
    if (h.holding[0] && px < held.px) held = { sku: h.holding[0].sku, px };
  }
if (held.px > 6)
  throw new Error(`no held item projects within 6 px of the hand (nearest ${held.px.toFixed(1)} px)`);
const box = ([x, y, w, h]: number[]) => ({ x: x!, y: y!, w: w!, h: h! });
writeFileSync('edge/vision/fixtures/held-item.jpg', jpeg);
writeFileSync(
  'edge/vision/fixtures/held-item.json',
  `${JSON.stringify({ seed: SEED, cameraId: f.cameraId, area, scale: MAIN_STREAM_SCALE, hand: box(f.hand), item: box(f.item), sku: held.sku }, null, 2)}\n`,
);
console.log(
  `camera ${f.cameraId}: hand ${JSON.stringify(f.hand)} item ${JSON.stringify(f.item)}; holds ${held.sku} (${held.px.toFixed(1)} px)`,
);
