import { describe, expect, it } from 'vitest';
import { type IdentityView, takeOver } from './identity.ts';

const cfg = { minRecent: 3, swapMargin: 0.15, unlikeMax: 0.6, takeLost: true };
/** A unit vector mostly along axis `k` of 4, a little along the next: one person's look. */
const look = (k: number, wobble = 0) => {
  const v = new Float32Array(4);
  v[k] = 1;
  v[(k + 1) % 4] = wobble;
  const n = Math.hypot(1, wobble);
  return v.map((x) => x / n);
};
const views = (k: number, n = 3) =>
  Array.from({ length: n }, (_, i) => ({ tMs: i, embedding: look(k, i / 10) }));
const track = (gallery: number, recent: number | null, lost = false, n = 3): IdentityView => ({
  gallery: [look(gallery), look(gallery, 0.2)],
  recent: recent === null ? [] : views(recent, n),
  lost,
});

describe('who a track is, by appearance', () => {
  it('two tracks that swapped people in a crowd take each other’s identity', () => {
    const tracks = [track(0, 1), track(1, 0), track(2, 2)];
    expect(takeOver(tracks, 0, cfg)).toBe(1);
    expect(takeOver(tracks, 1, cfg)).toBe(0);
    expect(takeOver(tracks, 2, cfg)).toBeNull();
  });

  it('a track following a lost track’s person takes its identity, only if allowed', () => {
    expect(takeOver([track(0, 1), track(1, null, true)], 0, cfg)).toBe(1);
    expect(takeOver([track(0, 1), track(1, null, true)], 0, { ...cfg, takeLost: false })).toBeNull();
  });

  it('a track that still looks like its gallery keeps itself, even if another’s fits better', () => {
    // Its gallery holds its person's look and, weakly, the other's: own fit 0.7, the other's 1.
    const mixed = { ...track(0, 1), gallery: [Float32Array.from([0.714, 0.7, 0, 0])] };
    expect(takeOver([mixed, track(1, 0)], 0, cfg)).toBeNull();
    expect(takeOver([mixed, track(1, 0)], 0, { ...cfg, unlikeMax: 0.8 })).toBe(1);
  });

  it('waits while the other track is live but has too few clean views, or still looks like itself', () => {
    expect(takeOver([track(0, 1), track(1, 1, false, 2)], 0, cfg)).toBeNull();
    // Two tracks on one person (the other is right): this one does not take its identity.
    expect(takeOver([track(0, 1), track(1, 1)], 0, cfg)).toBeNull();
  });

  it('needs enough recent views, and a fit better by the margin', () => {
    expect(takeOver([track(0, 1, false, 2), track(1, 0)], 0, cfg)).toBeNull();
    const close = { ...track(0, 1), gallery: [look(0), look(1, 0)] };
    // Its own gallery holds the other look as well: no better fit elsewhere.
    expect(takeOver([close, track(1, 0)], 0, cfg)).toBeNull();
  });
});
