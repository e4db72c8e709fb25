import type { Catalog, DeviceStatus, PlateSamples, StoreLayout, TopicKind } from '../../proto/index.ts';
import { topics } from '../../proto/index.ts';
import { Crowd } from '../agents/crowd.ts';
import type { ShopperApp } from '../agents/ports.ts';
import { createSimClock, type SimClock } from '../core/clock.ts';
import { Rng } from '../core/rng.ts';
import { LoadCell } from '../plates/loadcell.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { Person, TruthEvent } from '../world/types.ts';
import { World } from '../world/world.ts';
import { type GateAuthority, GateController } from './gates.ts';
import { swapPlanogram } from './planogram-errors.ts';

export const STEP_MS = 50;

export interface DeviceMessage {
  tsMs: number;
  kind: TopicKind;
  /** The device that sends it: its MQTT connection, its last will. */
  deviceId: string;
  topic: string;
  payload: unknown;
  retain: boolean;
}

export interface FrameDue {
  cameraId: string;
  frameIndex: number;
  tsMs: number;
}

export interface FaultEvent {
  tsMs: number;
  plateId: string;
  fault: 'dropout' | 'stuck';
  phase: 'start' | 'end';
}

export interface StepResult {
  tsMs: number;
  messages: DeviceMessage[];
  frames: FrameDue[];
  truth: TruthEvent[];
  faults: FaultEvent[];
}

export interface EngineOptions {
  layout: StoreLayout;
  catalog: Catalog;
  scenario: Scenario;
  seed: number;
  app: ShopperApp;
  authority: GateAuthority;
  /** Simulated minutes during which shoppers arrive; the run then lets them finish. */
  minutes: number;
}

export interface DeviceInfo {
  deviceId: string;
  kind: DeviceStatus['kind'];
  /** The gate a scanner, beam sensor or gate controller belongs to (its broker account's topics). */
  gateId?: string;
}

/**
 * One synthetic store, stepped in fixed increments of simulated time. Pure apart from its own
 * state: no sockets, files or wall clock, so live and recorded runs produce the same traffic.
 */
export class Engine {
  readonly world: World;
  readonly clock: SimClock;
  readonly gates: GateController;
  private readonly crowd: Crowd;
  private readonly cells: LoadCell[];
  private readonly nextFrameMs = new Map<string, number>();
  private readonly frameIndex = new Map<string, number>();
  private readonly faultState = new Map<string, 'dropout' | 'stuck' | null>();
  private truthCursor = 0;
  readonly arrivalsUntilMs: number;
  /** Plates whose stock contradicts the planogram (the wrong-planogram hard case). */
  readonly planogramSwaps: { plateIds: [string, string] }[];

  constructor(readonly options: EngineOptions) {
    const { layout, catalog, scenario, seed } = options;
    const startMs = Date.parse(scenario.startTime);
    this.clock = createSimClock(startMs, STEP_MS);
    this.world = new World(layout, catalog);
    this.world.stockAll(Rng.stream(seed, 'stock'));
    this.planogramSwaps = swapPlanogram(
      this.world,
      scenario.sensors.planogramErrors,
      Rng.stream(seed, 'planogram'),
    );
    this.gates = new GateController(layout, options.authority);
    this.arrivalsUntilMs = options.minutes * 60_000;
    this.crowd = new Crowd({
      world: this.world,
      scenario,
      seed,
      app: options.app,
      gates: this.gates,
      arrivalsUntilMs: this.arrivalsUntilMs,
      startMs,
    });
    const initialLoads = this.world.plateLoadsG();
    this.cells = layout.plates.map((p) => {
      const cell = new LoadCell(p, scenario.sensors, Rng.stream(seed, `cell:${p.id}`), startMs);
      cell.prime(initialLoads.get(p.id) ?? 0);
      return cell;
    });
    for (const c of layout.cameras) {
      this.nextFrameMs.set(c.id, startMs);
      this.frameIndex.set(c.id, 0);
    }
  }

  get storeId(): string {
    return this.options.layout.storeId;
  }

  devices(): DeviceInfo[] {
    const { layout } = this.options;
    return [
      ...layout.plates.map((p) => ({ deviceId: p.id, kind: 'plate' as const })),
      ...layout.gates.flatMap((g) => [
        { deviceId: g.scannerId, kind: 'scanner' as const, gateId: g.id },
        { deviceId: g.sensorId, kind: 'gate-sensor' as const, gateId: g.id },
        { deviceId: g.id, kind: 'gate' as const, gateId: g.id },
      ]),
      ...layout.cameras.map((c) => ({ deviceId: c.id, kind: 'camera' as const })),
    ];
  }

  statusMessage(
    device: DeviceInfo,
    status: 'online' | 'offline',
    extra: Partial<DeviceStatus> = {},
  ): DeviceMessage {
    return {
      tsMs: this.clock.nowMs(),
      kind: 'deviceStatus',
      deviceId: device.deviceId,
      topic: topics.deviceStatus(this.storeId, device.deviceId),
      payload: { deviceId: device.deviceId, kind: device.kind, status, ...extra } satisfies DeviceStatus,
      retain: true,
    };
  }

  /** The simulation is over: arrivals have stopped and everyone has left. */
  done(): boolean {
    const elapsed = this.clock.nowMs() - this.clock.startMs;
    return elapsed >= this.arrivalsUntilMs && this.crowd.idle(this.clock.nowMs());
  }

  persons(): Person[] {
    const out: Person[] = [];
    for (const p of this.world.persons.values()) if (p.present) out.push(p);
    return out;
  }

  step(): StepResult {
    const fromMs = this.clock.nowMs();
    const tsMs = this.clock.advance();
    this.crowd.step(tsMs, STEP_MS);
    this.gates.step(tsMs, this.world.persons.values());
    const messages: DeviceMessage[] = [];
    for (const t of this.gates.drain()) {
      const deviceId =
        t.kind === 'scan' ? t.payload.scannerId : t.kind === 'passage' ? t.payload.sensorId : t.gateId;
      const kind = t.kind === 'scan' ? 'gateScan' : t.kind === 'passage' ? 'gatePassage' : 'gateCommand';
      messages.push({
        tsMs,
        kind,
        deviceId,
        topic: topics[kind](this.storeId, t.gateId),
        payload: t.payload,
        retain: false,
      });
    }
    const loads = this.world.plateLoadsG();
    const faults: FaultEvent[] = [];
    for (const cell of this.cells) {
      const batches: PlateSamples[] = cell.advance(tsMs, loads.get(cell.plate.id) ?? 0);
      for (const b of batches) {
        messages.push({
          tsMs,
          kind: 'plateSamples',
          deviceId: b.plateId,
          topic: topics.plateSamples(this.storeId, b.plateId),
          payload: b,
          retain: false,
        });
      }
      const fault = cell.faultNow();
      const before = this.faultState.get(cell.plate.id) ?? null;
      if (fault !== before) {
        if (before) faults.push({ tsMs: fromMs, plateId: cell.plate.id, fault: before, phase: 'end' });
        if (fault) faults.push({ tsMs: fromMs, plateId: cell.plate.id, fault, phase: 'start' });
        this.faultState.set(cell.plate.id, fault);
      }
    }
    const frames: FrameDue[] = [];
    for (const cam of this.options.layout.cameras) {
      const due = this.nextFrameMs.get(cam.id)!;
      if (tsMs < due) continue;
      const frameIndex = this.frameIndex.get(cam.id)! + 1;
      this.frameIndex.set(cam.id, frameIndex);
      this.nextFrameMs.set(cam.id, due + 1000 / cam.fps);
      frames.push({ cameraId: cam.id, frameIndex, tsMs });
    }
    const truth = this.world.truth.slice(this.truthCursor);
    this.truthCursor = this.world.truth.length;
    // The payer's phone learns its party is out, as a real one would from its owner walking out.
    for (const e of truth)
      if (e.type === 'visit-closed') this.options.app.visitOver?.({ visitId: e.visitId, tsMs: e.tsMs });
    return { tsMs, messages, frames, truth, faults };
  }
}
