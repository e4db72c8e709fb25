import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findManifest, iou, type PixelBox } from '../../models/runtime/index.ts';
import { cropResize, decodeJpeg, type RawImage } from '../../models/runtime/preprocess.ts';
import type { MainStreamSource } from '../../models/runtime/types.ts';
import type { SecondLook } from '../stages.ts';
import type { LookRequest } from '../types.ts';
import { openSecondLook } from './second-look.ts';

/**
 * The real held-item model and classifier on a simulator frame: a hand holding a product, as the
 * camera's main stream shows it (benchmarks/accuracy/look-fixture.ts wrote the fixture: the
 * square around the hand at full main-stream scale, and what is true of it).
 */
const dir = new URL('./fixtures/', import.meta.url);
const truth = JSON.parse(readFileSync(new URL('held-item.json', dir), 'utf8')) as {
  cameraId: string;
  area: PixelBox;
  scale: number;
  hand: PixelBox;
  item: PixelBox;
  sku: string;
};
const shipped = findManifest('held-item') !== null && findManifest('classifier') !== null;

/** The fixture as the camera's main stream: any region inside its square, at any scale up to its own. */
function fixtureStream(image: RawImage): MainStreamSource {
  return {
    width: 640,
    height: 480,
    async region(region, scale) {
      const k = truth.scale;
      const box = {
        x: (region.x - truth.area.x) * k,
        y: (region.y - truth.area.y) * k,
        w: region.w * k,
        h: region.h * k,
      };
      if (box.x < 0 || box.y < 0 || box.x + box.w > image.width || box.y + box.h > image.height)
        throw new Error(`region ${JSON.stringify(region)} is outside the fixture`);
      const width = Math.round(region.w * scale);
      const height = Math.round(region.h * scale);
      const { hwc } = await cropResize(image, box, width, height, 'stretch');
      return { rgb: Uint8Array.from(hwc), width, height };
    },
  };
}

describe.skipIf(!shipped)('the second look on a simulator frame (skipped: models not shipped)', () => {
  let stage: Awaited<ReturnType<typeof openSecondLook>>;
  let look: SecondLook;
  let frames = 0;
  beforeAll(async () => {
    const image = await decodeJpeg(readFileSync(new URL('held-item.jpg', dir)));
    stage = await openSecondLook((cameraId, frameIndex) => {
      frames += 1;
      return cameraId === truth.cameraId && frameIndex === 7 ? fixtureStream(image) : null;
    });
    look = stage.look;
  }, 60_000);
  afterAll(async () => {
    await stage?.close();
  });

  const request = (candidates: string[], views: LookRequest['views']): LookRequest => ({
    eventId: 'S1@1000',
    shelfId: 'S1',
    plateIds: ['S1-P1'],
    direction: 'put',
    candidates,
    views,
    askedMs: 0,
    deadlineMs: 1500,
  });
  const view = { cameraId: truth.cameraId, frameIndex: 7, captureMs: 1000, bboxPx: truth.hand };

  it('boxes the item in the hand and names its product among weight twins', async () => {
    // shampoo-classic's catalogue neighbours by weight stand in for its twins: the look must
    // choose it, whichever place it has among the candidates.
    const answer = await look(request(['soap-mini', truth.sku, 'beer-classic'], [view]));
    expect(answer).not.toBeNull();
    expect(answer!.unknown).toBe(false);
    expect(iou(answer!.looked[0]!.itemPx, truth.item)).toBeGreaterThan(0.3);
    expect(answer!.looked[0]!.sku).toBe(truth.sku);
    expect(answer!.probabilities[truth.sku]).toBeGreaterThan(0.9);
    expect(answer!.candidateMass).toBeGreaterThan(0.5);
  });

  it('a view of a frame the camera no longer keeps gives no answer', async () => {
    const before = frames;
    expect(await look(request([truth.sku], [{ ...view, frameIndex: 8 }]))).toBeNull();
    expect(frames).toBe(before + 1);
  });
});
