import { mkdtempSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWalkoutError } from '../../proto/index.ts';
import { openClassifierSplit, openDetectorSplit, openReidSplit, readMeta } from './dataset.ts';
import { FAKE, recordByte, writeFakeDataset } from './fake-data.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'walkout-eval-data-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expectUniform(bytes: Uint8Array, value: number): void {
  expect(bytes.every((b) => b === value)).toBe(true);
}

describe('dataset reader', () => {
  it('reads meta, frames with their boxes, and crops with their labels', async () => {
    const { width, height, size } = writeFakeDataset(dir);
    const meta = readMeta(dir);
    expect(meta.detector.classes).toEqual(FAKE.classes);
    expect(meta.classifier.twinPairs).toEqual([['SKU-A', 'SKU-B']]);

    const det = openDetectorSplit(dir, 'test', meta);
    expect(det.count).toBe(3);
    // Read out of order and concurrently: each read goes to its own offset.
    const [s2, s0, s1] = await Promise.all([det.sample(2), det.sample(0), det.sample(1)]);
    for (const [s, i] of [
      [s0, 0],
      [s1, 1],
      [s2, 2],
    ] as const) {
      expect(s.image.width).toBe(width);
      expect(s.image.height).toBe(height);
      expect(s.image.rgb.length).toBe(width * height * 3);
      expectUniform(s.image.rgb, recordByte(i));
    }
    expect(s0.boxes).toEqual([
      { classIndex: 0, x: 10, y: 20, w: 30, h: 60, visibility: 1 },
      { classIndex: 1, x: 15, y: 20, w: 10, h: 10, visibility: 0.9 },
    ]);
    expect(s1.boxes).toEqual([]);
    await expect(det.sample(3)).rejects.toThrow(RangeError);
    await det.close();

    const cls = openClassifierSplit(dir, 'test', meta);
    expect(cls.labels).toEqual(FAKE.classifierLabels);
    expect(cls.skus).toEqual(FAKE.skus);
    const crop = await cls.crop(4);
    expect([crop.width, crop.height, crop.rgb.length]).toEqual([size, size, size * size * 3]);
    expectUniform(crop.rgb, recordByte(4));
    await cls.close();

    const reid = openReidSplit(dir, 'test', meta);
    expect([reid.ids, reid.cameras, reid.scenes, reid.heads]).toEqual([
      FAKE.reid.ids,
      FAKE.reid.cameras,
      FAKE.reid.scenes,
      FAKE.reid.heads,
    ]);
    expectUniform((await reid.crop(3)).rgb, recordByte(3));
    await reid.close();
  });

  it('names the missing path and the command that creates it', () => {
    expect(() => readMeta(dir)).toThrow(/meta\.json.*npm run models:data/);
    writeFakeDataset(dir);
    unlinkSync(join(dir, 'reid', 'test', 'crops.u8'));
    try {
      openReidSplit(dir, 'test');
      expect.unreachable();
    } catch (err) {
      expect(isWalkoutError(err, 'FILE_UNREADABLE')).toBe(true);
      expect((err as Error).message).toContain(join(dir, 'reid', 'test', 'crops.u8'));
      expect((err as { details: { command: string } }).details.command).toBe('npm run models:data');
    }
    expect(() => openDetectorSplit(dir, 'val')).toThrow(/detector\/val\/labels\.jsonl/);
  });

  it('refuses re-id labels from before crops were marked by whether the head shows', () => {
    writeFakeDataset(dir);
    const { heads: _heads, ...older } = FAKE.reid;
    writeFileSync(join(dir, 'reid', 'test', 'labels.json'), JSON.stringify(older));
    expect(() => openReidSplit(dir, 'test')).toThrow(/FILE_INVALID.*heads.*npm run models:data/s);
  });

  it('rejects a pixel file whose size does not match its labels', () => {
    const { width, height } = writeFakeDataset(dir);
    truncateSync(join(dir, 'detector', 'test', 'images.u8'), width * height * 3 * 2 + 5);
    expect(() => openDetectorSplit(dir, 'test')).toThrow(/FILE_INVALID.*expected 3 records/);
  });
});
