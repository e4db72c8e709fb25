import { WalkoutError } from '../../proto/index.ts';
import type { StoreLayout, Vec3 } from '../../proto/layout/schema.ts';
import type { PlateSamples } from '../../proto/mqtt/payloads.ts';
import type { Stateful } from '../state/fields.ts';
import type { PlateHealth, WeightEvent } from '../types.ts';
import { defaultWeightConfig, type WeightConfig } from './config.ts';
import { type Block, PlateSignal } from './signal.ts';
import { reachSteps, type TraceBlock } from './steps.ts';

/** A change a plate went through while it could not be read: never an event, worth an alert. */
export interface FaultChange {
  plateId: string;
  deltaG: number;
  fromMs: number;
  toMs: number;
}

export interface WeightOutput {
  /** Events that became final, in the order they did. */
  events: WeightEvent[];
  /** Plates whose health changed (a fault began, or ended). */
  health: PlateHealth[];
  /** Plates that came back from a fault at another level than they left: stock moved unseen. */
  faultChanges: FaultChange[];
}

interface Pending {
  startMs: number;
  settledMs: number;
  /** Baselines of the chain's first change: a held change and the next one are judged as one. */
  baselines: Map<string, number>;
  deltas: { plateId: string; deltaG: number }[];
  steps?: WeightEvent['steps'];
}

interface ShelfState {
  shelfId: string;
  plates: PlateSignal[];
  /**
   * The change in progress: when it started and each trusted plate's baseline then. Opened on a
   * held addition, it also keeps that addition and where its own change started (`prior`), to tell
   * a hand lifting off from a second put-back once it settles.
   */
  open: {
    startMs: number;
    baselines: Map<string, number>;
    prior?: { held: Pending; startMs: number; baselines: Map<string, number> };
    /** Each plate's block means since it opened: where its level rested between reaches. */
    trace: Map<string, TraceBlock[]>;
  } | null;
  /** A settled change that added weight, held until confirmAddedMs passes or the shelf moves again. */
  held: Pending | null;
}

interface WeightsState {
  startedMs: number | null;
  shelves: Map<string, Pick<ShelfState, 'open' | 'held'>>;
  signals: Map<string, unknown>;
}

/**
 * Weight events per shelf, from raw plate samples. An event opens when any plate of a shelf moves
 * and settles when every trusted plate of the shelf has been quiet for settleMs again, however
 * long that takes; only settled levels are compared, and idle baselines follow the level, so drift
 * and offsets do nothing. Pure: batches and the caller's clock in, events and health out.
 */
export class ShelfWeights implements Stateful {
  private readonly signals = new Map<string, PlateSignal>();
  private readonly shelves = new Map<string, ShelfState>();
  private readonly shelfOf = new Map<string, ShelfState>();
  private readonly centers = new Map<string, Vec3>();
  private readonly out: WeightOutput = { events: [], health: [], faultChanges: [] };
  private startedMs: number | null = null;
  /** The clock of the last advance: when a batch arrives, near enough (for silence). */
  private lastNowMs = Number.NEGATIVE_INFINITY;
  readonly config: WeightConfig;

  constructor(layout: StoreLayout, config: WeightConfig = defaultWeightConfig) {
    this.config = config;
    for (const s of layout.shelves)
      this.shelves.set(s.id, { shelfId: s.id, plates: [], open: null, held: null });
    for (const p of layout.plates) {
      let shelf = this.shelves.get(p.shelfId);
      if (!shelf) {
        shelf = { shelfId: p.shelfId, plates: [], open: null, held: null };
        this.shelves.set(p.shelfId, shelf);
      }
      const signal = new PlateSignal(
        p.id,
        config,
        (plate, block) => this.onBlock(plate, block),
        (h) => this.out.health.push(h),
      );
      shelf.plates.push(signal);
      this.signals.set(p.id, signal);
      this.shelfOf.set(p.id, shelf);
      this.centers.set(p.id, p.centerM);
    }
  }

  /** Each shelf's change in progress or held, each plate's signal, and when advancing started. */
  state(): unknown {
    return {
      startedMs: this.startedMs,
      shelves: new Map([...this.shelves].map(([id, s]) => [id, { open: s.open, held: s.held }])),
      signals: new Map([...this.signals].map(([id, s]) => [id, s.state()])),
    } satisfies WeightsState;
  }

  restore(state: unknown): void {
    const s = state as WeightsState;
    const sameKeys = (a: Map<string, unknown>, b: Map<string, unknown> | undefined) =>
      b instanceof Map && a.size === b.size && [...a.keys()].every((k) => b.has(k));
    // Restored in place: shelfOf and the signals' callbacks hold these objects.
    if (!sameKeys(this.shelves, s?.shelves) || !sameKeys(this.signals, s?.signals))
      throw new WalkoutError(
        'CHECKPOINT_INVALID',
        'shelf weights: the saved shelves or plates are not the layout’s',
      );
    for (const [id, shelf] of this.shelves) Object.assign(shelf, s.shelves.get(id));
    for (const [id, signal] of this.signals) signal.restore(s.signals.get(id));
    this.startedMs = s.startedMs;
  }

  /** Takes one MQTT batch. Unknown plates are ignored (the layout is the list of plates). */
  push(batch: PlateSamples): void {
    this.signals.get(batch.plateId)?.push(batch, this.lastNowMs);
  }

  /** Processes what is due by `nowMs` and returns what became final since the last call. */
  advance(nowMs: number): WeightOutput {
    this.startedMs ??= nowMs;
    this.lastNowMs = Math.max(this.lastNowMs, nowMs);
    const horizonMs = nowMs - this.config.reorderHoldMs;
    for (const signal of this.signals.values()) {
      signal.process(horizonMs);
      signal.checkSilence(nowMs, this.startedMs);
    }
    for (const shelf of this.shelves.values()) {
      if (shelf.open) this.trySettle(shelf);
      // The plates' samples are complete up to the horizon: a held change nobody touched is final.
      if (shelf.held && !shelf.open && horizonMs - shelf.held.settledMs >= this.config.confirmAddedMs) {
        this.emit(shelf, shelf.held);
        shelf.held = null;
      }
    }
    for (const signal of this.signals.values()) {
      if (signal.faultChange) {
        this.out.faultChanges.push(signal.faultChange);
        signal.faultChange = null;
      }
    }
    const result = { ...this.out };
    this.out.events = [];
    this.out.health = [];
    this.out.faultChanges = [];
    return result;
  }

  /**
   * Shelves with a change in progress or held (an addition waiting for confirmAddedMs), and since
   * when: what a visit closing now must wait for.
   */
  activeSince(): Map<string, number> {
    const since = new Map<string, number>();
    for (const s of this.shelves.values()) {
      const startMs = s.open?.startMs ?? s.held?.startMs;
      if (startMs !== undefined) since.set(s.shelfId, startMs);
    }
    return since;
  }

  /** A plate's reading for the live stock display: settled or not, and grams off its baseline. */
  plate(plateId: string): { stable: boolean; grams: number } {
    const s = this.signals.get(plateId);
    if (!s?.trusted) return { stable: false, grams: 0 };
    const shelf = this.shelfOf.get(plateId)!;
    const stable = !shelf.open && s.settled(s.lastSampleMs);
    const base = shelf.open?.baselines.get(plateId) ?? s.baselineG;
    return { stable, grams: Math.round(((s.lastBlockMeanG ?? base) - base) * 10) / 10 };
  }

  private onBlock(plate: PlateSignal, block: Block): void {
    const shelf = this.shelfOf.get(plate.plateId)!;
    if (!plate.trusted) return;
    if (!shelf.open) {
      const tol = Math.max(this.config.levelTolFloorG, this.config.levelTolFactor * plate.noiseSdG);
      const departed = Math.abs(block.meanG - plate.baselineG) > tol;
      if (block.kind === 'quiet' && !departed) {
        plate.follow(block.meanG);
        return;
      }
      if (block.kind === 'unknown') return;
      this.openEvent(shelf, block.startMs);
    }
    if (block.kind !== 'unknown' && shelf.open) {
      const trace = shelf.open.trace.get(plate.plateId) ?? [];
      trace.push({ tMs: block.startMs, meanG: block.meanG });
      shelf.open.trace.set(plate.plateId, trace);
    }
    this.trySettle(shelf);
  }

  private openEvent(shelf: ShelfState, startMs: number): void {
    const baselines = new Map<string, number>();
    for (const p of shelf.plates) if (p.trusted) baselines.set(p.plateId, p.baselineG);
    if (shelf.held) {
      // The shelf moved again before a change that added weight was final: judged with it once
      // settled, so a hand resting on a plate and lifting off again leaves nothing.
      const { held } = shelf;
      shelf.open = {
        startMs: held.startMs,
        baselines: held.baselines,
        prior: { held, startMs, baselines },
        trace: new Map(),
      };
      shelf.held = null;
      return;
    }
    shelf.open = { startMs, baselines, trace: new Map() };
  }

  /** Each trusted plate's settled change from `baselines`, those of at least plateMinDeltaG. */
  private deltasFrom(shelf: ShelfState, baselines: Map<string, number>): Pending['deltas'] {
    const deltas: Pending['deltas'] = [];
    for (const p of shelf.plates) {
      const base = baselines.get(p.plateId);
      if (base === undefined || !p.trusted) continue;
      const deltaG = Math.round((p.levelG() - base) * 10) / 10;
      if (Math.abs(deltaG) >= this.config.plateMinDeltaG) deltas.push({ plateId: p.plateId, deltaG });
    }
    return deltas;
  }

  private trySettle(shelf: ShelfState): void {
    const open = shelf.open;
    if (!open) return;
    let settledMs = Number.NEGATIVE_INFINITY;
    for (const p of shelf.plates) {
      if (!p.trusted || !open.baselines.has(p.plateId)) continue;
      if (!p.settled(p.lastSampleMs)) return;
      settledMs = Math.max(settledMs, p.lastSampleMs);
    }
    shelf.open = null;
    if (!Number.isFinite(settledMs)) return; // every plate faulted meanwhile: nothing to trust
    let deltas = this.deltasFrom(shelf, open.baselines);
    let [startMs, baselines] = [open.startMs, open.baselines];
    let stillHeld: Pending | null = null;
    if (open.prior) {
      const { eventMinG } = this.config;
      const own = this.deltasFrom(shelf, open.prior.baselines);
      const heldPlates = new Set(open.prior.held.deltas.map((d) => d.plateId));
      if (own.some((d) => d.deltaG >= eventMinG) && own.every((d) => d.deltaG > 0)) {
        // Weight added again on a held addition: no hand lifting off, a second put-back (two
        // shoppers' put-backs seconds apart were one event to one of them on a baseline run).
        this.emit(shelf, open.prior.held);
        [deltas, startMs, baselines] = [own, open.prior.startMs, open.prior.baselines];
      } else if (
        own.some((d) => d.deltaG <= -eventMinG) &&
        own.every((d) => d.deltaG < 0 && !heldPlates.has(d.plateId))
      ) {
        // Takes from other plates while the addition is held: an event of their own, and the
        // addition stays held, for its hand may still lift off. As one event, a put-back on one
        // plate and another shopper's take from the next went to a third (baseline seed 9).
        [deltas, startMs, baselines] = [own, open.prior.startMs, open.prior.baselines];
        stillHeld = open.prior.held;
      }
    }
    for (const p of shelf.plates) if (p.trusted && open.baselines.has(p.plateId)) p.baselineG = p.levelG();
    if (stillHeld) {
      // The held chain measures its own plates only from now on: the takes are this event's.
      for (const d of deltas) stillHeld.baselines.set(d.plateId, this.signals.get(d.plateId)!.baselineG);
      shelf.held = stillHeld;
    }
    if (!deltas.some((d) => Math.abs(d.deltaG) >= this.config.eventMinG)) return;
    const change: Pending = {
      startMs: Math.round(startMs),
      settledMs: Math.round(settledMs),
      baselines,
      deltas,
    };
    // Rests on the way: a held addition's own trace is gone, but where it settled is a rest too,
    // and the chain's baseline comes before it.
    const { restTolG, restBlocks, eventMinG: minStepG } = this.config;
    const steps = deltas.flatMap((d) => {
      const base = baselines.get(d.plateId)!;
      const trace = open.trace.get(d.plateId) ?? [];
      return reachSteps(trace, base, base + d.deltaG, { restTolG, restBlocks, minStepG }).map((st) => ({
        plateId: d.plateId,
        ...st,
      }));
    });
    if (steps.length > 0) change.steps = steps;
    if (deltas.some((d) => d.deltaG >= this.config.eventMinG)) shelf.held = change;
    else this.emit(shelf, change);
  }

  /**
   * A held addition made final now, before confirmAddedMs: the fusion, which knows where people
   * stand, found nobody within reach of the shelf to lift a hand off it. Nothing when the shelf
   * holds no addition or is moving again.
   */
  confirm(shelfId: string): void {
    const shelf = this.shelves.get(shelfId);
    if (!shelf?.held || shelf.open) return;
    this.emit(shelf, shelf.held);
    shelf.held = null;
  }

  /**
   * The changes that added weight, settled and held until confirmAddedMs passes, as the events
   * they will be if nothing moves meanwhile: a second look at a put-back must read the camera's
   * frames before they are gone (a camera keeps about 3 s; a put-back is final after 5).
   */
  held(): WeightEvent[] {
    const out: WeightEvent[] = [];
    for (const s of this.shelves.values()) if (s.held && !s.open) out.push(this.eventOf(s, s.held));
    return out;
  }

  private emit(shelf: ShelfState, change: Pending): void {
    this.out.events.push(this.eventOf(shelf, change));
  }

  private eventOf(shelf: ShelfState, change: Pending): WeightEvent {
    let w = 0;
    let [x, y, z] = [0, 0, 0];
    let total = 0;
    for (const d of change.deltas) {
      const c = this.centers.get(d.plateId)!;
      const a = Math.abs(d.deltaG);
      w += a;
      total += d.deltaG;
      x += c[0] * a;
      y += c[1] * a;
      z += c[2] * a;
    }
    const mm = (v: number) => Math.round((v / w) * 1000) / 1000;
    return {
      eventId: `${shelf.shelfId}@${change.startMs}`,
      shelfId: shelf.shelfId,
      plates: change.deltas,
      deltaG: Math.round(total * 10) / 10,
      startMs: change.startMs,
      settledMs: change.settledMs,
      positionM: [mm(x), mm(y), mm(z)],
      ...(change.steps ? { steps: change.steps } : {}),
    };
  }
}
