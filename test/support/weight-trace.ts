import type { ShelfWeights, WeightOutput } from '../../edge/weight/plates.ts';
import { type Catalog, Catalog as CatalogSchema } from '../../proto/catalog/schema.ts';
import { type StoreLayout, StoreLayout as StoreLayoutSchema } from '../../proto/layout/schema.ts';
import type { PlateSamples } from '../../proto/mqtt/payloads.ts';

/**
 * Synthetic load-cell traces for the weight tests, written here rather than taken from the
 * simulator (edge tests may not import it): true load as a function of time, a first-order
 * settle, offset, noise with optional spikes, drift, dropouts, stuck readings, 50/60 Hz, batches
 * whose t0Ms jitter, overlap, arrive out of order or twice.
 */

/** Deterministic random numbers (mulberry32) with a Gaussian. */
export function rng(seed: number): { next(): number; gaussian(sd: number): number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    gaussian: (sd) => sd * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  };
}

export interface SynthPlate {
  plateId: string;
  /** True load on the plate (items, hands) at a time, grams. */
  load: (tMs: number) => number;
  rateHz?: number;
  /** What the plate reads with nothing on it. */
  offsetG?: number;
  noiseSdG?: number;
  /** Chance per sample of a spike of ±spikeG (a bad gondola's peaks). */
  spikeProbability?: number;
  spikeG?: number;
  driftGPerHour?: number;
  /** Readings come in steps of this many grams (real cells: 0.24 g); default 0.1. */
  quantumG?: number;
  /** Null samples over these spans. */
  dropouts?: [number, number][];
  /** The last good value repeated over these spans. */
  stuck?: [number, number][];
  /** Silent (no batches at all) over these spans. */
  silent?: [number, number][];
}

export interface SynthOptions {
  startMs: number;
  durationMs: number;
  seed?: number;
  samplesPerBatch?: number;
  /** t0Ms off by up to ± this (batches then overlap in time). */
  jitterMs?: number;
  /** Share of batches that arrive after the next one. */
  swapShare?: number;
  /** Share of batches sent twice. */
  duplicateShare?: number;
}

export interface Arrival {
  arrivalMs: number;
  batch: PlateSamples;
}

const SETTLE_TAU_MS = 60;
const within = (t: number, spans: [number, number][] | undefined) =>
  spans?.some(([a, b]) => t >= a && t < b) ?? false;

export function synthesize(plates: SynthPlate[], options: SynthOptions): Arrival[] {
  const r = rng(options.seed ?? 1);
  const out: Arrival[] = [];
  const perBatch = options.samplesPerBatch ?? 6;
  for (const p of plates) {
    const rate = p.rateHz ?? 60;
    const periodMs = 1000 / rate;
    const alpha = 1 - Math.exp(-periodMs / SETTLE_TAU_MS);
    let settled = p.load(options.startMs);
    let last = 0;
    let seq = 0;
    let batch: (number | null)[] = [];
    let batchT0 = options.startMs;
    const n = Math.floor((options.durationMs / 1000) * rate);
    for (let i = 0; i < n; i++) {
      const t = options.startMs + i * periodMs;
      if (batch.length === 0) batchT0 = t;
      settled += (p.load(t) - settled) * alpha;
      const drift = ((p.driftGPerHour ?? 0) * (t - options.startMs)) / 3_600_000;
      let noise = r.gaussian(p.noiseSdG ?? 1);
      if (p.spikeProbability && r.next() < p.spikeProbability)
        noise += (r.next() < 0.5 ? -1 : 1) * (p.spikeG ?? 14);
      const q = p.quantumG ?? 0.1;
      const value = Math.round(((p.offsetG ?? 0) + settled + drift + noise) / q) * q;
      let reading: number | null = value;
      if (within(t, p.dropouts)) reading = null;
      else if (within(t, p.stuck)) reading = last;
      else last = value;
      batch.push(reading);
      if (batch.length === perBatch || i === n - 1) {
        const endMs = t + periodMs;
        if (!within(batchT0, p.silent)) {
          const jitter = options.jitterMs ? Math.round((r.next() * 2 - 1) * options.jitterMs) : 0;
          const b: PlateSamples = {
            plateId: p.plateId,
            seq: seq++,
            t0Ms: Math.max(0, Math.round(batchT0) + jitter),
            sampleRateHz: rate,
            grams: batch,
          };
          let arrivalMs = endMs + r.next() * 20;
          if (options.swapShare && r.next() < options.swapShare) arrivalMs += periodMs * perBatch * 1.5;
          out.push({ arrivalMs, batch: b });
          if (options.duplicateShare && r.next() < options.duplicateShare)
            out.push({ arrivalMs: arrivalMs + 30, batch: b });
        }
        batch = [];
      }
    }
  }
  return out.sort((a, b) => a.arrivalMs - b.arrivalMs);
}

/** Feeds arrivals to ShelfWeights with the clock ticking every `tickMs`; collects everything out. */
export function feed(weights: ShelfWeights, arrivals: Arrival[], endMs: number, tickMs = 100): WeightOutput {
  const all: WeightOutput = { events: [], health: [], faultChanges: [] };
  let i = 0;
  const startMs = arrivals[0]?.arrivalMs ?? 0;
  for (let t = startMs; t <= endMs; t += tickMs) {
    while (i < arrivals.length && arrivals[i]!.arrivalMs <= t) weights.push(arrivals[i++]!.batch);
    const out = weights.advance(t);
    all.events.push(...out.events);
    all.health.push(...out.health);
    all.faultChanges.push(...out.faultChanges);
  }
  return all;
}

/** A load that steps by `deltaG` at each of the given times (a ramp of rampMs, as a hand moves). */
export function steps(baseG: number, changes: { atMs: number; deltaG: number; rampMs?: number }[]) {
  return (tMs: number) => {
    let g = baseG;
    for (const c of changes) {
      const ramp = c.rampMs ?? 150;
      if (tMs >= c.atMs + ramp) g += c.deltaG;
      else if (tMs > c.atMs) g += (c.deltaG * (tMs - c.atMs)) / ramp;
    }
    return g;
  };
}

/**
 * A store layout with the given shelves, each a row of plates 0.41 m wide along x (facing −y),
 * valid under the layout schema. Plate ids are `${shelfId}-P${n}` from 1.
 */
export function testLayout(
  shelves: { id: string; plates: number; rateHz?: number }[],
  planogram: StoreLayout['planogram'] = [],
): StoreLayout {
  const plates: StoreLayout['plates'] = [];
  shelves.forEach((s, row) => {
    for (let i = 0; i < s.plates; i++) {
      plates.push({
        id: `${s.id}-P${i + 1}`,
        shelfId: s.id,
        centerM: [1 + 0.41 * i + 0.205, 2 + row, 0.5],
        sizeM: [0.41, 0.4],
        capacityG: 20000,
        sampleRateHz: s.rateHz ?? 60,
      });
    }
  });
  return StoreLayoutSchema.parse({
    schemaVersion: 1,
    storeId: 'test-store',
    name: 'Test store',
    floorPolygonM: [
      [0, 0],
      [10, 0],
      [10, 10],
      [0, 10],
    ],
    ceilingHeightM: 3,
    fixtures: [{ id: 'F1', kind: 'gondola', box: { minM: [0.5, 1.5, 0], maxM: [9, 9, 1.8] } }],
    shelves: shelves.map((s, row) => ({
      id: s.id,
      fixtureId: 'F1',
      facing: '-y',
      box: { minM: [1, 1.8 + row, 0.5], maxM: [1 + 0.41 * s.plates, 2.2 + row, 0.9] },
    })),
    plates,
    planogram,
    cameras: [
      {
        id: 'cam-1',
        positionM: [5, 5, 3],
        yawDeg: 0,
        pitchDeg: 0,
        rollDeg: 0,
        resolution: { width: 640, height: 480 },
        lens: { hfovDeg: 100 },
        fps: 10,
      },
    ],
    gates: [
      {
        id: 'gate-in',
        kind: 'entry',
        lineM: [
          [0, 1],
          [0, 2],
        ],
        scannerId: 'scan-in',
        sensorId: 'beam-in',
      },
      {
        id: 'gate-out',
        kind: 'exit',
        lineM: [
          [0, 3],
          [0, 4],
        ],
        scannerId: 'scan-out',
        sensorId: 'beam-out',
      },
    ],
  });
}

/** A catalogue of the given products (mean, sd grams; `loose` ones sold by weight). */
export function testCatalog(items: { sku: string; meanG: number; sdG?: number; loose?: boolean }[]): Catalog {
  return CatalogSchema.parse({
    schemaVersion: 1,
    currency: 'EUR',
    items: items.map((i) => ({
      sku: i.sku,
      name: i.sku,
      unitWeightG: { mean: i.meanG, sd: i.sdG ?? i.meanG * 0.012 },
      priceMinor: 100,
      soldBy: i.loose ? 'weight' : 'unit',
      appearance: {
        shape: 'box',
        sizeM: [0.1, 0.1, 0.1],
        primary: '#112233',
        secondary: '#445566',
        pattern: 'solid',
      },
    })),
  });
}
