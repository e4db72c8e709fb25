/**
 * Multi-object tracking scores on the floor plane, with a match distance in metres: CLEAR MOT
 * (MOTA, MOTP, ID switches; Bernardin & Stiefelhagen 2008, as py-motmetrics counts them) and the
 * identity scores IDF1 / IDP / IDR (Ristani et al. 2016). Written here because no maintained npm
 * package computes them (searched: "mot metrics", "motmetrics", "clear mot", "idf1"); the
 * definitions are short and the tests check them on cases small enough to count by hand.
 */
import { assign, FORBIDDEN } from '../../edge/tracking/assign.ts';
import type { Vec2 } from '../../proto/layout/schema.ts';

export interface MotObject {
  id: string;
  xyM: Vec2;
}

/** One scored instant: truth and hypothesis objects. */
export interface MotFrame {
  gt: MotObject[];
  hyp: MotObject[];
}

export interface ClearMot {
  mota: number;
  /** Mean distance of matched pairs, metres. */
  motpM: number;
  gt: number;
  matches: number;
  falsePositives: number;
  misses: number;
  idSwitches: number;
}

export interface IdScores {
  idf1: number;
  idp: number;
  idr: number;
  idtp: number;
  idfp: number;
  idfn: number;
  /** Truth id → the hypothesis id it was matched to as a whole trajectory. */
  mapping: Map<string, string>;
}

const dist = (a: Vec2, b: Vec2) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/**
 * CLEAR MOT. Per frame: a truth object keeps the hypothesis it was matched to last when that one
 * is still within `thresholdM`; the rest are matched at least total distance; a truth object
 * matched to a hypothesis other than its last match is an ID switch.
 */
export function clearMot(frames: readonly MotFrame[], thresholdM: number): ClearMot {
  const last = new Map<string, string>();
  let gt = 0;
  let matches = 0;
  let fp = 0;
  let misses = 0;
  let idsw = 0;
  let distSum = 0;
  for (const f of frames) {
    gt += f.gt.length;
    const pairs: [MotObject, MotObject][] = [];
    const gtLeft = new Set(f.gt);
    const hypLeft = new Set(f.hyp);
    for (const g of f.gt) {
      const h = f.hyp.find((x) => x.id === last.get(g.id));
      if (h && hypLeft.has(h) && dist(g.xyM, h.xyM) <= thresholdM) {
        pairs.push([g, h]);
        gtLeft.delete(g);
        hypLeft.delete(h);
      }
    }
    const gs = [...gtLeft];
    const hs = [...hypLeft];
    const cost = gs.map((g) =>
      hs.map((h) => (dist(g.xyM, h.xyM) <= thresholdM ? dist(g.xyM, h.xyM) : FORBIDDEN)),
    );
    for (const [r, c] of assign(cost)) {
      const g = gs[r]!;
      const h = hs[c]!;
      const before = last.get(g.id);
      if (before !== undefined && before !== h.id) idsw++;
      pairs.push([g, h]);
    }
    for (const [g, h] of pairs) {
      last.set(g.id, h.id);
      distSum += dist(g.xyM, h.xyM);
    }
    matches += pairs.length;
    misses += f.gt.length - pairs.length;
    fp += f.hyp.length - pairs.length;
  }
  return {
    mota: gt === 0 ? Number.NaN : 1 - (misses + fp + idsw) / gt,
    motpM: matches === 0 ? Number.NaN : distSum / matches,
    gt,
    matches,
    falsePositives: fp,
    misses,
    idSwitches: idsw,
  };
}

/**
 * IDF1: truth and hypothesis trajectories are paired one to one, as wholes, so as to maximise
 * the frames where a pair is within `thresholdM` (IDTP); every other truth frame is an IDFN,
 * every other hypothesis frame an IDFP.
 */
export function idScores(frames: readonly MotFrame[], thresholdM: number): IdScores {
  const gtIds: string[] = [];
  const hypIds: string[] = [];
  const gi = new Map<string, number>();
  const hi = new Map<string, number>();
  const together = new Map<string, number>(); // `${g}|${h}` → frames within threshold
  let gtCount = 0;
  let hypCount = 0;
  for (const f of frames) {
    gtCount += f.gt.length;
    hypCount += f.hyp.length;
    for (const g of f.gt) {
      if (!gi.has(g.id)) gi.set(g.id, gtIds.push(g.id) - 1);
      for (const h of f.hyp) {
        if (!hi.has(h.id)) hi.set(h.id, hypIds.push(h.id) - 1);
        if (dist(g.xyM, h.xyM) <= thresholdM) {
          const k = `${gi.get(g.id)}|${hi.get(h.id)}`;
          together.set(k, (together.get(k) ?? 0) + 1);
        }
      }
    }
    for (const h of f.hyp) if (!hi.has(h.id)) hi.set(h.id, hypIds.push(h.id) - 1);
  }
  let most = 0;
  for (const n of together.values()) most = Math.max(most, n);
  // Every full assignment pairs min(rows, cols) trajectories, so minimising Σ(most − together)
  // maximises IDTP. Pairs never together cost `most`, not a refusal: refusing them could force a
  // worse full assignment.
  const cost = gtIds.map((_, g) => hypIds.map((_, h) => most - (together.get(`${g}|${h}`) ?? 0)));
  let idtp = 0;
  const mapping = new Map<string, string>();
  for (const [g, h] of assign(cost)) {
    const n = together.get(`${g}|${h}`) ?? 0;
    idtp += n;
    if (n > 0) mapping.set(gtIds[g]!, hypIds[h]!);
  }
  const idfn = gtCount - idtp;
  const idfp = hypCount - idtp;
  return {
    idf1: gtCount + hypCount === 0 ? Number.NaN : (2 * idtp) / (gtCount + hypCount),
    idp: hypCount === 0 ? Number.NaN : idtp / hypCount,
    idr: gtCount === 0 ? Number.NaN : idtp / gtCount,
    idtp,
    idfp,
    idfn,
    mapping,
  };
}
