/**
 * Who a track is, by appearance: each track keeps a gallery of the clean views (no other track
 * near) of its first seconds, when it was born at the entry and one person for sure, and its
 * latest clean views. A track whose latest views look like another track's gallery, clearly more
 * than its own, and not much like its own, has taken that person over in a crowd; when the other
 * track's latest views look like this one's gallery (they swapped), or (if allowed) the other is
 * lost (its person is the one this track now follows), the two exchange identities. Pure:
 * galleries and views in, a decision out.
 *
 * Why re-id this way: on kept baseline runs (seeds 3 and 5) a clean view's best match among the
 * galleries of the people in the store at the time is its own person's 97 % of the time
 * (benchmarks/accuracy/reid-separation.ts), while the floor positions of shoppers standing
 * together cannot tell them apart.
 */
import { bestSimilarity } from './reid.ts';

export interface IdentityConfig {
  /** A track is judged on at least this many recent clean views. */
  minRecent: number;
  /** Another's gallery must fit the recent views this much better (mean cosine) than its own... */
  swapMargin: number;
  /** ...and its own fit them less than this: a track that still looks like itself keeps itself. */
  unlikeMax: number;
  /** Whether a track may take over a lost one's identity (its person is the one it follows). */
  takeLost: boolean;
}

export interface IdentityView {
  gallery: readonly Float32Array[];
  recent: readonly { tMs: number; embedding: Float32Array }[];
  lost: boolean;
}

/** Mean over the views of their best similarity to the gallery; null without both. */
export function likeness(gallery: readonly Float32Array[], views: IdentityView['recent']): number | null {
  if (gallery.length === 0 || views.length === 0) return null;
  let sum = 0;
  for (const v of views) sum += bestSimilarity(gallery, v.embedding) ?? 0;
  return sum / views.length;
}

/**
 * The track whose identity `tracks[i]` should take (exchanging its own), or null. `tracks[i]` is
 * judged only on enough recent clean views; a live partner only when it has as many, they fit
 * `tracks[i]`'s gallery better than its own, and its own fits them less than `unlikeMax` too.
 */
export function takeOver(tracks: readonly IdentityView[], i: number, cfg: IdentityConfig): number | null {
  const me = tracks[i]!;
  if (me.lost || me.recent.length < cfg.minRecent) return null;
  const own = likeness(me.gallery, me.recent);
  if (own === null || own >= cfg.unlikeMax) return null;
  let best: number | null = null;
  let bestFit = own + cfg.swapMargin;
  for (const [j, other] of tracks.entries()) {
    if (j === i) continue;
    const f = likeness(other.gallery, me.recent);
    if (f !== null && f > bestFit) {
      best = j;
      bestFit = f;
    }
  }
  if (best === null) return null;
  const other = tracks[best]!;
  if (other.lost) return cfg.takeLost ? best : null;
  if (other.recent.length < cfg.minRecent) return null;
  const theirs = likeness(other.gallery, other.recent);
  const mine = likeness(me.gallery, other.recent);
  return theirs !== null && mine !== null && theirs < cfg.unlikeMax && mine > theirs ? best : null;
}
