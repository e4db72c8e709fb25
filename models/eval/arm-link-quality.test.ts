import { describe, expect, it } from 'vitest';
import { findManifest, loadArmLink } from '../runtime/index.ts';
import { armLinkQuality } from './arm-link-quality.ts';
import { FRESH_SEED } from './fresh.ts';

/**
 * The shipped arm-link model (or WALKOUT_MODELS_DIR's) on hands at a shelf in a crowded store it
 * never saw (seed FRESH_SEED, 3 minutes), through the loader. Measured 2026-12-07 with the model of
 * that day: 138 hands, its best head the owner's for 126 (the nearest head in the image: 119),
 * decided 69, all right. The floors leave room for a sample this size, not for a worse model: it
 * must beat the nearest head, decide a third of the hands, and be right on 95 % of those.
 */
const manifest = findManifest('arm-link', process.env.WALKOUT_MODELS_DIR);

describe.skipIf(!manifest)('the arm-link model on a store it never saw', () => {
  it('joins hands at a shelf to their own heads better than nearness does, and is right when it decides', async () => {
    const model = await loadArmLink(manifest!);
    try {
      const q = await armLinkQuality(
        model,
        { scenario: 'crowded', seed: FRESH_SEED, minutes: 3 },
        { accept: 0.7, reject: 0.3 },
      );
      expect(q.hands).toBeGreaterThan(100);
      expect(q.bestRight).toBeGreaterThan(q.nearestRight);
      expect(q.decided / q.hands).toBeGreaterThanOrEqual(1 / 3);
      expect(q.decidedRight / q.decided).toBeGreaterThanOrEqual(0.95);
    } finally {
      await model.close();
    }
  }, 180_000);
});
