import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { PlateHealth, WeightEvent } from '../../edge/types.ts';
import { defaultWeightConfig, type WeightConfig } from '../../edge/weight/config.ts';
import { ShelfContents } from '../../edge/weight/contents.ts';
import { doubt, type IdentifiedHypothesis, identify } from '../../edge/weight/identify.ts';
import { type FaultChange, ShelfWeights } from '../../edge/weight/plates.ts';
import { Catalog } from '../../proto/catalog/schema.ts';
import { StoreLayout } from '../../proto/layout/schema.ts';
import { PlateSamples } from '../../proto/mqtt/payloads.ts';

/**
 * Runs a simulator recording's plate traffic (mqtt.jsonl) through ShelfWeights and identify, as
 * the edge would, and scores it against the recording's ground truth (truth/events.jsonl; read
 * for scoring only). Used by the weight tests and benchmarks/weight.
 */

export interface Identified {
  event: WeightEvent;
  hypotheses: IdentifiedHypothesis[];
}

export interface Replay {
  identified: Identified[];
  health: PlateHealth[];
  faultChanges: FaultChange[];
  samples: number;
  /** CPU time inside push + advance (not identify, not parsing), ms. */
  weightsMs: number;
  identifyMs: number;
  simulatedMs: number;
}

/**
 * `carts`: pass what shoppers carry to identify, as the edge can from its carts. Replayed without
 * attribution, "carried" is every SKU identified as taken in the last 15 minutes and not put back.
 */
export async function replayRecording(
  dir: string,
  config: WeightConfig = defaultWeightConfig,
  options: { carts?: boolean } = {},
): Promise<Replay> {
  const layout = StoreLayout.parse(JSON.parse(readFileSync(join(dir, 'layout.json'), 'utf8')));
  const catalog = Catalog.parse(JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8')));
  const weights = new ShelfWeights(layout, config);
  const contents = new ShelfContents(layout, catalog);
  const out: Replay = {
    identified: [],
    health: [],
    faultChanges: [],
    samples: 0,
    weightsMs: 0,
    identifyMs: 0,
    simulatedMs: 0,
  };
  const taken: { sku: string; quantity: number; tsMs: number }[] = [];
  const carried = (nowMs: number) => {
    const net = new Map<string, number>();
    for (const t of taken)
      if (nowMs - t.tsMs < 15 * 60_000) net.set(t.sku, (net.get(t.sku) ?? 0) + t.quantity);
    return [...net].filter(([, q]) => q > 0).map(([sku]) => sku);
  };
  let lastTs: number | null = null;
  let firstTs: number | null = null;
  const step = (nowMs: number, final = false) => {
    const t0 = performance.now();
    const res = weights.advance(nowMs);
    const t1 = performance.now();
    out.weightsMs += t1 - t0;
    // After the recording ends every plate falls silent: that is the end, not a fault.
    if (!final) out.health.push(...res.health);
    out.faultChanges.push(...res.faultChanges);
    for (const event of res.events) {
      const carriedSkus = options.carts ? carried(event.startMs) : undefined;
      const hypotheses = identify(event, contents, catalog, config, { carriedSkus });
      const best = hypotheses[0];
      if (best && Math.abs(best.unexplainedG) < config.eventMinG) {
        contents.applyHypothesis(best);
        for (const l of best.lines) taken.push({ sku: l.sku, quantity: l.quantity, tsMs: event.settledMs });
      }
      out.identified.push({ event, hypotheses });
    }
    out.identifyMs += performance.now() - t1;
  };
  const lines = createInterface({ input: createReadStream(join(dir, 'mqtt.jsonl')), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes('/samples"')) continue;
    const msg = JSON.parse(line) as { tsMs: number; topic: string; payload: string };
    const batch = PlateSamples.parse(JSON.parse(msg.payload));
    // The sim publishes a step's messages with one tsMs: advance once per step, as a loop ticking would.
    if (lastTs !== null && msg.tsMs !== lastTs) step(lastTs);
    firstTs ??= msg.tsMs;
    lastTs = msg.tsMs;
    out.samples += batch.grams.length;
    const t0 = performance.now();
    weights.push(batch);
    out.weightsMs += performance.now() - t0;
  }
  if (lastTs !== null) {
    // Let held changes become final and the last samples be processed.
    for (let t = lastTs; t <= lastTs + config.confirmAddedMs + 2000; t += 100) step(t, true);
    out.simulatedMs = lastTs - (firstTs ?? lastTs);
  }
  return out;
}

export interface TruthChange {
  type: 'pick' | 'putback' | 'restock';
  tsMs: number;
  plateId: string;
  sku: string;
  /** Cart-signed: + taken from the shelf. */
  quantity: number;
}

export function readTruth(dir: string): TruthChange[] {
  return readFileSync(join(dir, 'truth', 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TruthChange & { type: string })
    .filter((e) => e.type === 'pick' || e.type === 'putback' || e.type === 'restock')
    .map((e) => ({ ...e, quantity: e.type === 'pick' ? e.quantity : -e.quantity }));
}

export interface WeightScore {
  truth: number;
  /** Truth changes inside a detected event's time on their shelf. */
  found: number;
  /** A pick and its put-back on the same plate that cancel inside one event: invisible to weight. */
  cancelled: number;
  events: number;
  /** Detected events holding at least one truth change. */
  matchedEvents: number;
  /** Matched events whose best hypothesis has exactly the truth's SKUs and net quantities. */
  identified: number;
  /** … among the top two hypotheses. */
  identifiedTop2: number;
  /** Events doubt() would send to review: among those read right, and among those read wrong. */
  doubtedRight: number;
  doubtedWrong: number;
  eventsRight: number;
  misses: TruthChange[];
  falseEvents: Identified[];
  wrong: { identified: Identified; truth: TruthChange[] }[];
}

/** Scores a replay: a truth change belongs to an event on its shelf whose time span holds it. */
export function scoreReplay(replay: Replay, truth: TruthChange[], layout: StoreLayout): WeightScore {
  const shelfOf = new Map(layout.plates.map((p) => [p.id, p.shelfId]));
  const byEvent = new Map<Identified, TruthChange[]>();
  const misses: TruthChange[] = [];
  for (const t of truth) {
    // The latest event on the truth's shelf that started before it and had not settled yet; else
    // the nearest one within a couple of seconds (a lean or a reach can start the event earlier).
    const onShelf = replay.identified.filter((i) => i.event.shelfId === shelfOf.get(t.plateId));
    const distance = (i: Identified) =>
      t.tsMs < i.event.startMs ? i.event.startMs - t.tsMs : Math.max(0, t.tsMs - i.event.settledMs);
    const inside = onShelf
      .filter((i) => distance(i) <= 300)
      .sort((a, b) => b.event.startMs - a.event.startMs);
    const near = onShelf.filter((i) => distance(i) <= 2000).sort((a, b) => distance(a) - distance(b));
    const hit = inside[0] ?? near[0];
    if (hit) byEvent.set(hit, [...(byEvent.get(hit) ?? []), t]);
    else misses.push(t);
  }
  // A pick and a put-back of the same SKU on the same plate, both unseen and close together, cancel.
  let cancelled = 0;
  const left = misses.filter((m) => {
    const pair = misses.find(
      (o) =>
        o !== m &&
        o.plateId === m.plateId &&
        o.sku === m.sku &&
        o.quantity === -m.quantity &&
        Math.abs(o.tsMs - m.tsMs) < 15_000,
    );
    if (pair) cancelled += 1;
    return !pair;
  });
  const net = (lines: { sku: string; quantity: number }[]) => {
    const m = new Map<string, number>();
    for (const l of lines) m.set(l.sku, (m.get(l.sku) ?? 0) + l.quantity);
    return [...m]
      .filter(([, q]) => q !== 0)
      .sort()
      .join(';');
  };
  let identified = 0;
  let identifiedTop2 = 0;
  let doubtedRight = 0;
  let doubtedWrong = 0;
  let eventsRight = 0;
  const wrong: WeightScore['wrong'] = [];
  for (const [i, ts] of byEvent) {
    const want = net(ts);
    const [h1, h2] = i.hypotheses;
    const doubted = doubt(i.hypotheses, defaultWeightConfig) !== null;
    if (h1 && net(h1.lines) === want) {
      identified += ts.length;
      eventsRight += 1;
      if (doubted) doubtedRight += 1;
    } else {
      wrong.push({ identified: i, truth: ts });
      if (doubted) doubtedWrong += 1;
    }
    if ((h1 && net(h1.lines) === want) || (h2 && net(h2.lines) === want)) identifiedTop2 += ts.length;
  }
  return {
    truth: truth.length,
    found: truth.length - misses.length,
    cancelled,
    events: replay.identified.length,
    matchedEvents: byEvent.size,
    identified,
    identifiedTop2,
    doubtedRight,
    doubtedWrong,
    eventsRight,
    misses: left,
    falseEvents: replay.identified.filter((i) => !byEvent.has(i)),
    wrong,
  };
}
