import type { Catalog, CatalogItem } from '../../proto/catalog/schema.ts';
import type { WeightEvent, WeightHypothesis } from '../types.ts';
import type { WeightConfig } from './config.ts';
import type { ShelfContents } from './contents.ts';

/**
 * Products from a weight event: which SKUs, how many, on which plates, with posterior
 * probabilities. Signs follow the cart: `quantity` (and `grams` for items sold by weight) is
 * positive for what left the shelf and negative for what was put on it.
 *
 * The event's plates are split into runs of neighbouring plates (every way of splitting them is
 * tried); a run is one product (k units; one item may lie across the run's plates), two products
 * (only when one fits badly), or, for a single plate, no product (a residue of settling, or
 * something no candidate explains). Each reading's weight is Gaussian around k × unit weight with
 * the catalogue's sd, a relative real-unit error and the plates' level noise; priors favour what
 * the live contents hold on (then next to) those plates, and fewer units.
 */
/** `logLikelihood` is the log of prior × likelihood of the reading (unnormalised posterior). */
export interface IdentifiedHypothesis extends WeightHypothesis {
  /**
   * Grams of the event no product explains (signed as the event's deltaG). When the best
   * hypothesis leaves |unexplainedG| ≥ config.eventMinG, or its probability is under
   * config.confidentProbability, the caller should raise an alert (unknown item, foreign object,
   * wrong stock) or ask vision, rather than trust the reading.
   */
  unexplainedG: number;
  /**
   * Some line names a product neither on nor next to the event's plates (nor carried, when the
   * caller said what shoppers carry): a misplaced item, wrong stock, or a coincidence of weights.
   */
  unexpected: boolean;
  /** The largest distance, in sd, of a run's change from what its reading expects (0: exact). */
  fitZ: number;
  /**
   * For what was put on the shelf: the reading's weight twins (unit weights within
   * config.twinRelative; among the carried ones when the caller said what is carried). The
   * reading rests on the prior that a put-back goes home: vision should confirm it.
   */
  lookalikes: string[];
}

/** Why an event's reading should not be trusted alone, or null when it can be. */
export type WeightDoubt = 'unexplained' | 'unexpected' | 'misfit' | 'lookalike' | 'uncertain';

/**
 * The lead's rule for alerts: the best reading leaves grams unexplained (a foreign object, a
 * product not among the candidates), names an unexpected product, fits its weight badly (a
 * misplaced item read as the nearest local count), or is not clearly the best.
 */
export function doubt(hypotheses: readonly IdentifiedHypothesis[], config: WeightConfig): WeightDoubt | null {
  const best = hypotheses[0];
  if (!best || Math.abs(best.unexplainedG) >= config.eventMinG) return 'unexplained';
  if (best.unexpected) return 'unexpected';
  if (best.fitZ > config.misfitZ) return 'misfit';
  if (best.lookalikes.length > 0) return 'lookalike';
  if (best.probability < config.confidentProbability) return 'uncertain';
  return null;
}

/** What else the caller knows. */
export interface IdentifyContext {
  /**
   * SKUs that shoppers near the shelf carry (their carts): what is put back is one of them, so a
   * unit put on a plate holding its weight twin is not read as the twin. Without it, put-backs
   * read as the plate's own products.
   */
  carriedSkus?: readonly string[];
}

type Line = WeightHypothesis['lines'][number];
interface Option {
  lines: Line[];
  logP: number;
  unexplainedG: number;
  unexpected: boolean;
  fitZ: number;
  lookalikes: string[];
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const logNormal = (x: number, mu: number, sd: number) =>
  -0.5 * ((x - mu) / sd) ** 2 - Math.log(sd) - LOG_SQRT_2PI;
const round1 = (v: number) => Math.round(v * 10) / 10;
/** Most plates tried in every split (2^(n−1) splits); beyond, each plate is its own run. */
const MAX_SPLIT_PLATES = 8;
const OPTIONS_PER_RUN = 12;
const BEAM = 64;

export function identify(
  event: WeightEvent,
  contents: ShelfContents,
  catalog: Catalog,
  config: WeightConfig,
  context: IdentifyContext = {},
): IdentifiedHypothesis[] {
  const plates = [...event.plates].sort(
    (a, b) => (contents.order.get(a.plateId) ?? 0) - (contents.order.get(b.plateId) ?? 0),
  );
  const runCache = new Map<string, Option[]>();
  const runOptions = (from: number, to: number) => {
    const key = `${from}:${to}`;
    let opts = runCache.get(key);
    if (!opts) {
      opts = optionsForRun(plates.slice(from, to), contents, catalog, config, context);
      runCache.set(key, opts);
    }
    return opts;
  };
  const merged = new Map<string, Option>();
  for (const cuts of splits(plates, contents)) {
    let beam: Option[] = [
      { lines: [], logP: 0, unexplainedG: 0, unexpected: false, fitZ: 0, lookalikes: [] },
    ];
    let from = 0;
    for (const to of cuts) {
      const next: Option[] = [];
      for (const partial of beam) {
        for (const o of runOptions(from, to)) {
          next.push({
            lines: [...partial.lines, ...o.lines],
            logP: partial.logP + o.logP,
            unexplainedG: partial.unexplainedG + o.unexplainedG,
            unexpected: partial.unexpected || o.unexpected,
            fitZ: Math.max(partial.fitZ, o.fitZ),
            lookalikes: [...partial.lookalikes, ...o.lookalikes],
          });
        }
      }
      beam = next.sort((a, b) => b.logP - a.logP).slice(0, BEAM);
      from = to;
    }
    for (const h of beam) {
      // The same reading reached through different splits is one hypothesis: add their chances.
      const key = h.lines
        .map((l) => `${l.plateId}|${l.sku}|${l.grams === undefined ? l.quantity : 'g'}`)
        .sort()
        .join(',');
      const seen = merged.get(key);
      if (!seen) merged.set(key, h);
      else {
        const hi = Math.max(seen.logP, h.logP);
        const sum = hi + Math.log(Math.exp(seen.logP - hi) + Math.exp(h.logP - hi));
        if (h.logP > seen.logP) merged.set(key, { ...h, logP: sum });
        else seen.logP = sum;
      }
    }
  }
  const all = [...merged.values()].sort((a, b) => b.logP - a.logP);
  const kept = all.slice(0, config.maxHypotheses);
  const top = kept[0]?.logP ?? 0;
  const norm = kept.reduce((s, h) => s + Math.exp(h.logP - top), 0);
  return kept.map((h) => ({
    lines: h.lines,
    probability: Math.exp(h.logP - top) / norm,
    logLikelihood: h.logP,
    unexplainedG: round1(h.unexplainedG),
    unexpected: h.unexpected,
    fitZ: Math.round(h.fitZ * 100) / 100,
    lookalikes: [...new Set(h.lookalikes)].sort(),
  }));
}

/** Every way to cut the sorted plates into runs of shelf neighbours: the end index of each run. */
function splits(plates: WeightEvent['plates'], contents: ShelfContents): number[][] {
  const n = plates.length;
  if (n === 0) return [];
  const joinable = plates.map((p, i) => {
    if (i === 0) return false;
    const a = contents.order.get(plates[i - 1]!.plateId);
    const b = contents.order.get(p.plateId);
    return a !== undefined && b !== undefined && b - a === 1;
  });
  if (n > MAX_SPLIT_PLATES) return [plates.map((_, i) => i + 1)];
  const out: number[][] = [];
  for (let mask = 0; mask < 1 << (n - 1); mask++) {
    // Bit i set: plate i+1 joins plate i's run.
    let ok = true;
    const cuts: number[] = [];
    for (let i = 1; i < n; i++) {
      if (mask & (1 << (i - 1))) {
        if (!joinable[i]) ok = false;
      } else cuts.push(i);
    }
    if (ok) out.push([...cuts, n]);
  }
  return out;
}

/** The readings of one run of neighbouring plates, best first. */
function optionsForRun(
  run: WeightEvent['plates'],
  contents: ShelfContents,
  catalog: Catalog,
  config: WeightConfig,
  context: IdentifyContext,
): Option[] {
  const sumG = run.reduce((s, p) => s + p.deltaG, 0);
  const absG = Math.abs(sumG);
  const sign = sumG < 0 ? 1 : -1; // cart sign: taken from the shelf is +
  const m = run.length;
  const options: Option[] = [];
  if (m === 1) options.push(noProduct(sumG, config));
  // One item across several plates loads them all the same way.
  const slackG = 3 * config.levelSdG;
  if (run.some((p) => Math.sign(p.deltaG) !== Math.sign(sumG) && Math.abs(p.deltaG) > slackG)) return options;
  // The split of a run's change over its plates is free: a density of 1/|sum| per extra plate.
  const spread = (m - 1) * (Math.log(config.spreadPrior) - Math.log(Math.max(absG, 1)));
  const largest = run.reduce((a, b) => (Math.abs(b.deltaG) > Math.abs(a.deltaG) ? b : a)).plateId;
  const priors = skuPriors(run, contents, catalog, config, largest, sign > 0);
  if (sign < 0 && context.carriedSkus && context.carriedSkus.length > 0)
    carriedPriors(priors, context.carriedSkus, config);
  const levelVar = m * config.levelSdG ** 2;
  const singles: {
    item: CatalogItem;
    plateId: string;
    k: number;
    mu: number;
    v: number;
    logPrior: number;
  }[] = [];
  const carried = new Set(context.carriedSkus ?? []);
  for (const [sku, prior] of priors) {
    const item = contents.items.get(sku);
    if (!item) continue;
    const unexpected = !prior.local && !carried.has(sku);
    const logPrior = Math.log(prior.p) + spread;
    if (item.soldBy === 'weight') {
      // Loose pieces vary widely: a mixture over the number of pieces, billed by the grams.
      const w = item.unitWeightG.mean;
      let best = { k: 1, logP: Number.NEGATIVE_INFINITY, z: 0 };
      const terms: number[] = [];
      for (let k = 1; k <= config.maxUnits; k++) {
        const sd = Math.sqrt(k * (config.looseRelativeSd * w) ** 2 + levelVar);
        const t = unitsPrior(k, config) + logNormal(absG, k * w, sd);
        terms.push(t);
        if (t > best.logP) best = { k, logP: t, z: Math.abs(absG - k * w) / sd };
      }
      options.push({
        lines: [{ sku, plateId: prior.plateId, quantity: sign * best.k, grams: round1(sign * absG) }],
        logP: logPrior + logSumExp(terms),
        unexplainedG: 0,
        unexpected,
        fitZ: best.z,
        lookalikes: [],
      });
      continue;
    }
    for (let k = 1; k <= config.maxUnits; k++) {
      const mu = k * item.unitWeightG.mean;
      const v = k * item.unitWeightG.sd ** 2 + (k * config.unitRelativeSd * item.unitWeightG.mean) ** 2;
      const kPrior = unitsPrior(k, config);
      const sd = Math.sqrt(v + levelVar);
      singles.push({ item, plateId: prior.plateId, k, mu, v, logPrior: logPrior + kPrior });
      options.push({
        lines: [{ sku, plateId: prior.plateId, quantity: sign * k }],
        logP: logPrior + kPrior + logNormal(absG, mu, sd),
        unexplainedG: 0,
        unexpected,
        fitZ: Math.abs(absG - mu) / sd,
        lookalikes: [],
      });
    }
  }
  {
    // Two products in one run, from what the run's plates hold (two shoppers, or a misplaced
    // unit). Always tried, few as they are: their prior (twoProductPrior × both products') lets
    // them win only where one product fits badly; a z threshold would let some far count of a
    // neighbour's product (7 × 205 g) shut them out.
    const local = singles.filter((s) => priors.get(s.item.sku)!.onRun);
    for (let i = 0; i < local.length; i++) {
      for (let j = i + 1; j < local.length; j++) {
        const a = local[i]!;
        const b = local[j]!;
        if (a.item.sku === b.item.sku || a.mu + b.mu > absG * 1.5) continue;
        const sd = Math.sqrt(a.v + b.v + levelVar);
        options.push({
          lines: [
            { sku: a.item.sku, plateId: a.plateId, quantity: sign * a.k },
            { sku: b.item.sku, plateId: b.plateId, quantity: sign * b.k },
          ],
          logP:
            a.logPrior +
            b.logPrior -
            spread +
            Math.log(config.twoProductPrior) +
            logNormal(absG, a.mu + b.mu, sd),
          unexplainedG: 0,
          unexpected: false,
          fitZ: Math.abs(absG - a.mu - b.mu) / sd,
          lookalikes: [],
        });
      }
    }
  }
  const kept = options.sort((a, b) => b.logP - a.logP).slice(0, OPTIONS_PER_RUN);
  if (sign < 0) {
    // Put on the shelf: name the weight twins of the reading's product (the home prior chose it).
    for (const o of kept) {
      const item =
        o.lines.length === 1 && o.lines[0]!.grams === undefined
          ? contents.items.get(o.lines[0]!.sku)
          : undefined;
      if (!item) continue;
      const w = item.unitWeightG.mean;
      o.lookalikes = catalog.items
        .filter(
          (other) =>
            other.sku !== item.sku &&
            other.soldBy === 'unit' &&
            Math.abs(other.unitWeightG.mean - w) < config.twinRelative * w &&
            (carried.size === 0 || carried.has(other.sku)),
        )
        .map((other) => other.sku);
    }
  }
  return kept;
}

/**
 * A put-back is something a shopper carries: most of the prior goes to the carried SKUs, the
 * plate's own products (where most put-backs go) weighted up among them.
 */
function carriedPriors(
  priors: Map<string, { p: number; plateId: string; local: boolean; onRun: boolean }>,
  carried: readonly string[],
  config: WeightConfig,
): void {
  const set = new Set(carried);
  let total = 0;
  for (const [sku, prior] of priors) if (set.has(sku)) total += prior.local ? config.carriedHomeWeight : 1;
  if (total === 0) return;
  for (const [sku, prior] of priors) {
    const share = set.has(sku) ? (prior.local ? config.carriedHomeWeight : 1) / total : 0;
    prior.p = (1 - config.uncarriedPutPrior) * share + config.uncarriedPutPrior * prior.p;
  }
}

/** Log prior of k units in one line: one is usual, several less so, each more a little less. */
function unitsPrior(k: number, config: WeightConfig): number {
  return k === 1 ? 0 : Math.log(config.multiUnitPrior) + (k - 2) * Math.log(config.extraUnitPrior);
}

function logSumExp(terms: number[]): number {
  const hi = Math.max(...terms);
  return hi + Math.log(terms.reduce((s, t) => s + Math.exp(t - hi), 0));
}

/** A single plate's change that no product explains: a settling residue, or something unknown. */
function noProduct(deltaG: number, config: WeightConfig): Option {
  const residue = Math.log(config.residuePrior) + logNormal(deltaG, 0, config.residueSdG);
  const unknown = Math.log(config.unexplainedPrior) - Math.log(config.unexplainedRangeG);
  return {
    lines: [],
    logP: logSumExp([residue, unknown]),
    unexplainedG: deltaG,
    unexpected: false,
    fitZ: 0,
    lookalikes: [],
  };
}

/**
 * Prior of each SKU for a run: mostly what the contents hold on the run's plates, less what is next to them, and a little of
 * every other product (a misplaced put-back, stock the planogram does not know).
 */
function skuPriors(
  run: WeightEvent['plates'],
  contents: ShelfContents,
  catalog: Catalog,
  config: WeightConfig,
  fallbackPlateId: string,
  taken: boolean,
): Map<string, { p: number; plateId: string; local: boolean; onRun: boolean }> {
  const runIds = run.map((p) => p.plateId);
  const near = new Set<string>();
  for (const id of runIds) for (const n of contents.neighbours(id)) if (!runIds.includes(n)) near.add(n);
  // Where a SKU's units are: the run plate holding most of it, else the neighbour holding most.
  const weights = new Map<string, { w: number; plateId: string; units: number; onRun: boolean }>();
  const add = (c: { sku: string; plateId: string; units: number }, w: number, onRun: boolean) => {
    const cur = weights.get(c.sku);
    if (!cur) weights.set(c.sku, { w, plateId: c.plateId, units: c.units, onRun });
    else {
      cur.w += w;
      if ((onRun && !cur.onRun) || (onRun === cur.onRun && c.units > cur.units))
        Object.assign(cur, { plateId: c.plateId, units: c.units, onRun });
    }
  };
  // √(units + 1): more units make a SKU likelier, but a count the edge got wrong (or an emptied
  // plate) must not outweigh what the plate physically shows.
  for (const c of contents.candidates(runIds)) add(c, Math.sqrt(c.units + 1), true);
  for (const c of contents.candidates([...near]))
    add(c, config.neighbourPrior * Math.sqrt(c.units + 1), false);
  const total = [...weights.values()].reduce((s, w) => s + w.w, 0);
  const localShare = total > 0 ? 1 - config.elsewherePrior : 0;
  const elsewhere = (1 - localShare) / catalog.items.length;
  const out = new Map<string, { p: number; plateId: string; local: boolean; onRun: boolean }>();
  for (const item of catalog.items) {
    const w = weights.get(item.sku);
    // Taken: from where its units are. Put: onto the run (on the plate already holding it, if any).
    const plateId = w && (w.onRun || taken) ? w.plateId : fallbackPlateId;
    out.set(item.sku, {
      p: (w ? (localShare * w.w) / total : 0) + elsewhere,
      plateId,
      local: w !== undefined,
      onRun: w?.onRun ?? false,
    });
  }
  return out;
}
