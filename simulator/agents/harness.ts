import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog, loadLayout } from '../../proto/index.ts';
import { Rng } from '../core/rng.ts';
import { Scenario } from '../scenario/schema.ts';
import { World } from '../world/world.ts';
import { Crowd, type CrowdOptions } from './crowd.ts';
import type { GateDecision, GatePort, ShopperApp } from './ports.ts';

/** Test and benchmark helpers: the reference store, a gate that opens after a delay, an offline app. */

const REFERENCE = join(dirname(fileURLToPath(import.meta.url)), '../../proto/stores/reference');

export function referenceWorld(seed: number, fill = 1): World {
  const catalog = loadCatalog(join(REFERENCE, 'catalog.json'));
  const layout = loadLayout(join(REFERENCE, 'layout.json'), catalog);
  const world = new World(layout, catalog);
  world.stockAll(Rng.stream(seed, 'stock'), fill);
  return world;
}

/** Opens every scan `delayMs` after it (or denies those `deny` says to). */
export class DelayGate implements GatePort {
  readonly scans: { scanId: string; gateId: string; personId: string; qr: string; tsMs: number }[] = [];
  now = 0;
  constructor(
    private readonly delayMs = 300,
    private readonly deny: (n: number, qr: string) => boolean = () => false,
  ) {}
  scan(gateId: string, personId: string, qr: string, tsMs: number): string {
    const scanId = `s${this.scans.length + 1}`;
    this.scans.push({ scanId, gateId, personId, qr, tsMs });
    return scanId;
  }
  decision(scanId: string): GateDecision {
    const i = this.scans.findIndex((s) => s.scanId === scanId);
    const s = this.scans[i];
    if (!s) return 'deny';
    if (this.now - s.tsMs < this.delayMs) return 'pending';
    return this.deny(i, s.qr) ? 'deny' : 'open';
  }
}

export const syncApp: ShopperApp = {
  requestEntryCode: ({ visitId }) => `QR:${visitId}`,
};

export function scenarioWith(
  over: { arrivals?: Partial<Scenario['arrivals']>; behaviour?: Partial<Scenario['behaviour']> } = {},
): Scenario {
  return Scenario.parse({
    name: 'agents-test',
    description: 'crowd test',
    arrivals: over.arrivals ?? {},
    behaviour: over.behaviour ?? {},
  });
}

export interface RunResult {
  world: World;
  crowd: Crowd;
  gate: DelayGate;
  endMs: number;
}

export interface RunOptions {
  seed: number;
  scenario: Scenario;
  arrivalsForMs: number;
  /** Give up stepping after this (all should have left well before). */
  maxMs?: number;
  fill?: number;
  gate?: DelayGate;
  app?: ShopperApp;
  onStep?: (world: World, crowd: Crowd, tsMs: number) => void;
  startMs?: number;
  /** A stocked store to run in; default the reference store. */
  world?: World;
}

export const START_MS = Date.UTC(2026, 0, 5, 9, 0, 0);

/** Steps a crowd every 50 ms until arrivals stop and everyone has left. */
export function runCrowd(o: RunOptions): RunResult {
  const world = o.world ?? referenceWorld(o.seed, o.fill ?? 1);
  const gate = o.gate ?? new DelayGate();
  const startMs = o.startMs ?? START_MS;
  const opts: CrowdOptions = {
    world,
    scenario: o.scenario,
    seed: o.seed,
    app: o.app ?? syncApp,
    gates: gate,
    arrivalsUntilMs: o.arrivalsForMs,
    startMs,
  };
  const crowd = new Crowd(opts);
  const maxMs = o.maxMs ?? o.arrivalsForMs + 20 * 60_000;
  let t = startMs;
  for (; t - startMs <= maxMs; t += 50) {
    gate.now = t;
    crowd.step(t, 50);
    o.onStep?.(world, crowd, t);
    if (crowd.idle(t)) break;
  }
  return { world, crowd, gate, endMs: t };
}
