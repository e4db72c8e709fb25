import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { inImage, project, unprojectToPlane } from '../../proto/index.ts';
import type { Person } from '../world/types.ts';
import { hexToRgb } from './colour.ts';
import { createRenderer } from './renderer.ts';
import { loadReferenceStore, standingPerson } from './test-persons.ts';
import type { BBox, Label } from './types.ts';

const { layout, catalog } = loadReferenceStore();
const item = (itemId: string, sku: string) => ({ itemId, sku, weightG: 300 });

// cam-12 hangs at (4.5, 2.4, 3). A stands just south of it holding a can and a bag of chips; B and
// C hold the two weight twins (same can, different packaging); D reaches into a gondola shelf.
const persons: Person[] = [
  standingPerson('A', [4.5, 2.2], {
    headingRad: Math.PI / 2,
    appearance: { hairColour: '#e0c050', topColour: '#2050c0' },
    holding: [[item('i1', 'cola-330')], [item('i2', 'chips-paprika')]],
  }),
  standingPerson('B', [6.1, 1.6], {
    headingRad: 0,
    holding: [[item('i3', 'cola-330')], []],
    appearance: { hairStyle: 'cap' },
  }),
  standingPerson('C', [6.1, 2.9], {
    headingRad: 0,
    holding: [[item('i4', 'lemon-330')], []],
    appearance: { hairStyle: 'long' },
  }),
  standingPerson('D', [3.7, 4.3], {
    headingRad: Math.PI,
    hands: [[2.85, 4.3, 1.2], null],
    holding: [[item('i5', 'cereal-classic')], []],
    appearance: { basket: true },
    basket: [item('i6', 'corn-can')],
  }),
];

const cleanOptions = { layout, catalog, seed: 5, lightingVariation: 0, noiseSd: 0, visibleBoxes: true };
const clean = createRenderer(cleanOptions);
const noisy = createRenderer({ layout, catalog, seed: 5, lightingVariation: 0.15, noiseSd: 4 });

function labelOf(
  labels: readonly Label[],
  kind: Label['kind'],
  personId: string,
  hand?: 0 | 1,
): Label | undefined {
  return labels.find(
    (l) => l.kind === kind && l.personId === personId && (hand === undefined || l.hand === hand),
  );
}

async function decode(jpeg: Buffer): Promise<Uint8Array> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Pixels in a box within a small colour distance of `colour`. */
function pixelsNear(frame: { rgb: Uint8Array; width: number }, box: BBox, colour: readonly number[]): number {
  let n = 0;
  for (let y = box.y; y < box.y + box.h; y++)
    for (let x = box.x; x < box.x + box.w; x++) {
      const o = (y * frame.width + x) * 3;
      const d = Math.hypot(
        frame.rgb[o]! - colour[0]!,
        frame.rgb[o + 1]! - colour[1]!,
        frame.rgb[o + 2]! - colour[2]!,
      );
      if (d < 70) n++;
    }
  return n;
}

/** Share of pixels in a box whose colour differs from the reference by more than `threshold` (sum over channels). */
function changedShare(a: Uint8Array, b: Uint8Array, width: number, box: BBox, threshold: number): number {
  let changed = 0;
  for (let y = box.y; y < box.y + box.h; y++) {
    for (let x = box.x; x < box.x + box.w; x++) {
      const i = (y * width + x) * 3;
      const d = Math.abs(a[i]! - b[i]!) + Math.abs(a[i + 1]! - b[i + 1]!) + Math.abs(a[i + 2]! - b[i + 2]!);
      if (d > threshold) changed++;
    }
  }
  return changed / (box.w * box.h);
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('overhead camera renderer', () => {
  it('labels heads where their centres project, in every camera that sees them', () => {
    let checked = 0;
    for (const cameraId of clean.cameraIds) {
      const frame = clean.render(cameraId, persons, 1000, 1);
      const m = clean.model(cameraId);
      for (const p of persons) {
        const head = labelOf(frame.labels.labels, 'head', p.personId);
        const q = project(m, p.headM);
        if (!head || !q || !inImage(m, q) || head.visibility < 0.5) continue;
        const { x, y, w, h } = head.bbox;
        expect(q.u, `${cameraId} ${p.personId}`).toBeGreaterThanOrEqual(x - 1);
        expect(q.u).toBeLessThanOrEqual(x + w + 1);
        expect(q.v).toBeGreaterThanOrEqual(y - 1);
        expect(q.v).toBeLessThanOrEqual(y + h + 1);
        // The head sits inside its person's box.
        const person = labelOf(frame.labels.labels, 'person', p.personId)!;
        expect(x).toBeGreaterThanOrEqual(person.bbox.x);
        expect(x + w).toBeLessThanOrEqual(person.bbox.x + person.bbox.w);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('labels held items with their SKU and item id, and labels stay well formed', () => {
    const frame = clean.render('cam-12', persons, 1000, 1);
    const labels = frame.labels.labels;
    const can = labelOf(labels, 'item', 'A', 0);
    const chips = labelOf(labels, 'item', 'A', 1);
    expect(can).toMatchObject({ sku: 'cola-330', itemId: 'i1' });
    expect(chips).toMatchObject({ sku: 'chips-paprika', itemId: 'i2' });
    expect(labelOf(labels, 'hand', 'A', 0)).toBeDefined();
    for (const l of labels) {
      expect(l.bbox.x).toBeGreaterThanOrEqual(0);
      expect(l.bbox.y).toBeGreaterThanOrEqual(0);
      expect(l.bbox.x + l.bbox.w).toBeLessThanOrEqual(frame.width);
      expect(l.bbox.y + l.bbox.h).toBeLessThanOrEqual(frame.height);
      expect(l.visibility).toBeGreaterThan(0);
      expect(l.visibility).toBeLessThanOrEqual(1);
      expect(l.visiblePx).toBeGreaterThanOrEqual(5);
      expect(l.visiblePx).toBeLessThanOrEqual(l.drawnPx);
      const v = l.visibleBox!;
      expect(v.x).toBeGreaterThanOrEqual(l.bbox.x);
      expect(v.y).toBeGreaterThanOrEqual(l.bbox.y);
      expect(v.x + v.w).toBeLessThanOrEqual(l.bbox.x + l.bbox.w);
      expect(v.y + v.h).toBeLessThanOrEqual(l.bbox.y + l.bbox.h);
      expect(v.w * v.h).toBeGreaterThanOrEqual(l.visiblePx);
      if (l.visibility === 1) expect(v).toEqual(l.bbox);
    }
  });

  it('draws labelled objects: inside their boxes the JPEG differs from the empty store', async () => {
    const frame = clean.render('cam-12', persons, 1000, 1);
    // encodeJpeg hands the buffer back for reuse: keep a copy.
    const rgb = frame.rgb.slice();
    const labels = frame.labels.labels;
    const decoded = await decode(await clean.encodeJpeg(frame.rgb, frame.width, frame.height));
    const bg = clean.background('cam-12').rgb;
    const clear = labels.filter((x) => x.visibility > 0.8 && x.visiblePx > 40);
    expect(clear.length).toBeGreaterThan(3);
    for (const l of clear) {
      // Boxes are not filled by their objects (round heads, thin arms): a third is plenty.
      expect(changedShare(decoded, bg, frame.width, l.bbox, 40), `${l.kind} ${l.personId}`).toBeGreaterThan(
        0.3,
      );
    }
    // And where nobody is, the picture is the background (to JPEG precision).
    const empty: BBox = { x: 0, y: 400, w: 120, h: 80 };
    expect(labels.some((l) => l.bbox.x < empty.x + empty.w && l.bbox.y + l.bbox.h > empty.y)).toBe(false);
    expect(changedShare(decoded, bg, frame.width, empty, 40)).toBeLessThan(0.02);
    // The JPEG is the rendered frame, to JPEG precision.
    expect(meanAbsDiff(decoded, rgb)).toBeLessThan(4);
  });

  it('shows the weight twins in their own packaging colours', () => {
    const frame = clean.render('cam-12', persons, 1000, 1);
    const cola = labelOf(frame.labels.labels, 'item', 'B')!;
    const lemon = labelOf(frame.labels.labels, 'item', 'C')!;
    expect(cola.sku).toBe('cola-330');
    expect(lemon.sku).toBe('lemon-330');
    // Each can shows more of its own primary colour than of the other's (its box also holds
    // hand, floor and the pattern's second colour).
    const primary = (sku: string) => hexToRgb(catalog.items.find((i) => i.sku === sku)!.appearance.primary);
    const [red, blue] = [primary('cola-330'), primary('lemon-330')];
    expect(pixelsNear(frame, cola.bbox, red)).toBeGreaterThan(
      Math.max(5, pixelsNear(frame, cola.bbox, blue)),
    );
    expect(pixelsNear(frame, lemon.bbox, blue)).toBeGreaterThan(
      Math.max(5, pixelsNear(frame, lemon.bbox, red)),
    );
  });

  it('dresses a shopper in an open jacket and a backpack that the cameras see', () => {
    const dressed = { jacketColour: '#6d1a2a', backpackColour: '#fcbf49', topColour: '#2050c0' };
    const seen = (appearance: Partial<Person['appearance']>) => {
      const p = standingPerson('E', [4.9, 2.0], { headingRad: Math.PI / 2, appearance });
      const frame = clean.render('cam-12', [p], 1000, 1);
      const box = labelOf(frame.labels.labels, 'person', 'E')!.bbox;
      return (hex: string) => pixelsNear(frame, box, hexToRgb(hex));
    };
    const withThem = seen(dressed);
    const without = seen({ topColour: dressed.topColour });
    expect(withThem(dressed.backpackColour)).toBeGreaterThan(30);
    expect(without(dressed.backpackColour)).toBeLessThan(5);
    // Dark pixels of the floor and trousers come near the jacket's colour too: compare.
    expect(withThem(dressed.jacketColour)).toBeGreaterThan(1.5 * without(dressed.jacketColour));
    // From above, the top shows only down the front of the open jacket.
    expect(withThem(dressed.topColour)).toBeGreaterThan(5);
    expect(withThem(dressed.topColour)).toBeLessThan(without(dressed.topColour) / 4);
  });

  it('leaves visible boxes to renderers that ask for them (the live cameras do not)', () => {
    const labels = noisy.render('cam-12', persons, 1000, 1).labels.labels;
    expect(labels.length).toBeGreaterThan(5);
    expect(labels.filter((l) => l.visibleBox)).toEqual([]);
  });

  it('sees a person standing under one camera from its neighbours too', () => {
    const seenBy = noisy.cameraIds.filter((id) =>
      labelOf(noisy.render(id, persons, 1000, 1).labels.labels, 'person', 'A'),
    );
    expect(seenBy).toContain('cam-12');
    expect(seenBy.length).toBeGreaterThanOrEqual(2);
  });

  it('hides a hand that reaches into a shelf behind the shelf above it', () => {
    // D's hand is at 1.2 m inside gondola G1's east face, under the 1.5 m shelf; cam-12 looks at
    // it from the aisle, over that shelf. Its pixels are counted but the fixture owns them.
    const all = createRenderer({
      layout,
      catalog,
      seed: 5,
      lightingVariation: 0,
      noiseSd: 0,
      minVisiblePx: 0,
      visibleBoxes: true,
    });
    const labels = all.render('cam-12', persons, 1000, 1).labels.labels;
    const hand = labelOf(labels, 'hand', 'D', 0)!;
    expect(hand.drawnPx).toBeGreaterThan(50);
    expect(hand.visibility).toBeLessThan(0.2);
    // What the camera shows of it is a fraction of where it is.
    expect(hand.visibleBox!.w * hand.visibleBox!.h).toBeLessThan((hand.bbox.w * hand.bbox.h) / 2);
    expect(labelOf(labels, 'person', 'D')!.visibility).toBeLessThan(1);
    // With the default threshold such a sliver is not labelled at all.
    expect(labelOf(clean.render('cam-12', persons, 1000, 1).labels.labels, 'hand', 'D', 0)).toBeUndefined();
  });

  it('measures how much of each object the frame cuts off, without changing the frame', () => {
    const shares = createRenderer({ ...cleanOptions, inFrameShares: true });
    const m = clean.model('cam-12');
    // E stands where the frame's right edge cuts through her at chest height.
    const edge = unprojectToPlane(m, m.width - 1, m.cyPx, 1.2)!;
    const cut: Person[] = [...persons, standingPerson('E', [edge[0], edge[1]], { headingRad: 0 })];
    const plain = clean.render('cam-12', cut, 1000, 1);
    const plainRgb = plain.rgb.slice();
    const plainLabels = plain.labels.labels;
    const measured = shares.render('cam-12', cut, 1000, 1);
    expect(Buffer.from(measured.rgb).equals(Buffer.from(plainRgb))).toBe(true);
    expect(measured.labels.labels.map(({ inFrame, ...rest }) => rest)).toEqual(plainLabels);
    const e = labelOf(measured.labels.labels, 'person', 'E')!;
    expect(e.bbox.x + e.bbox.w).toBe(m.width);
    expect(e.inFrame).toBeGreaterThan(0.15);
    expect(e.inFrame).toBeLessThan(0.85);
    // Wholly inside the frame: the same pixels in both drawings.
    expect(labelOf(measured.labels.labels, 'person', 'A')!.inFrame).toBe(1);
    expect(labelOf(measured.labels.labels, 'head', 'A')!.inFrame).toBe(1);
    expect(plainLabels.every((l) => l.inFrame === undefined)).toBe(true);
  });

  it('is deterministic for a seed, and the noise changes from frame to frame', async () => {
    const again = createRenderer({ layout, catalog, seed: 5, lightingVariation: 0.15, noiseSd: 4 });
    const a = noisy.render('cam-13', persons, 2000, 7);
    const aRgb = a.rgb.slice();
    const b = again.render('cam-13', persons, 2000, 7);
    expect(Buffer.from(b.rgb).equals(Buffer.from(aRgb))).toBe(true);
    expect(b.labels).toEqual(a.labels);
    const ja = await noisy.encodeJpeg(a.rgb, a.width, a.height);
    const jb = await again.encodeJpeg(b.rgb, b.width, b.height);
    expect(ja.equals(jb)).toBe(true);
    const c = noisy.render('cam-13', persons, 2000, 8);
    expect(Buffer.from(c.rgb).equals(Buffer.from(aRgb))).toBe(false);
    expect(c.labels.labels).toEqual(a.labels.labels);
  });

  it('rejects an unknown camera', () => {
    expect(() => clean.render('cam-99', persons, 0, 1)).toThrow(/CAMERA_UNKNOWN/);
  });
});

describe('region renders (the main stream)', () => {
  it('draws a window of the view at a finer scale, with labels where the full frame puts them', () => {
    const full = clean.render('cam-12', persons, 0, 0).labels.labels;
    const can = labelOf(full, 'item', 'A', 0)!;
    const scale = 4;
    const region = { x: can.bbox.x - 10.5, y: can.bbox.y - 12.25, w: 32, h: 32 };
    const zoom = clean.renderRegion('cam-12', persons, 0, 0, region, scale);
    expect([zoom.width, zoom.height]).toEqual([128, 128]);
    const near = labelOf(zoom.labels.labels, 'item', 'A', 0)!;
    // Guards against a region whose intrinsics are shifted or scaled the wrong way.
    expect(near.sku).toBe('cola-330');
    expect(Math.abs(near.bbox.x / scale + region.x - can.bbox.x)).toBeLessThan(1.5);
    expect(Math.abs(near.bbox.y / scale + region.y - can.bbox.y)).toBeLessThan(1.5);
    expect(near.bbox.w / scale).toBeGreaterThan(can.bbox.w - 1.5);
    expect(near.bbox.w / scale).toBeLessThan(can.bbox.w + 1.5);
    // The finer view resolves the can's colours: many pixels of its primary.
    const [r, g, b] = hexToRgb('#c0392b');
    let hits = 0;
    for (let i = 0; i < zoom.rgb.length; i += 3)
      if (Math.abs(zoom.rgb[i]! - r) + Math.abs(zoom.rgb[i + 1]! - g) + Math.abs(zoom.rgb[i + 2]! - b) < 30)
        hits++;
    expect(hits).toBeGreaterThan(100);
  });
});
