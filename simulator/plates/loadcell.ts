import type { Plate, PlateSamples } from '../../proto/index.ts';
import type { Rng } from '../core/rng.ts';
import type { Scenario } from '../scenario/schema.ts';

export type SensorConfig = Scenario['sensors'];

/** How a load cell's reading follows a change of load: it settles like a damped spring. */
const SETTLE_TAU_MS = 60;
const RING_HZ = 7;
const RING_DAMPING_MS = 120;
const RING_SHARE = 0.08;
/** Samples per published batch: about ten batches a second at 60 Hz. */
const BATCH_MS = 100;

type Fault = { kind: 'dropout' | 'stuck'; untilMs: number; value: number | null };

/**
 * A weight plate as hardware: it knows only the force on it. Readings carry noise, slow drift,
 * mechanical settling and ringing after a change, and in some scenarios dropouts and stuck values.
 * Pure apart from its own state: time and true load are handed in.
 */
export class LoadCell {
  private readonly periodMs: number;
  private nextSampleMs: number;
  private seq = 0;
  private settled = 0;
  private ringAmp = 0;
  private ringStartMs = 0;
  private lastTarget = 0;
  private driftG = 0;
  private driftVelocity: number;
  private fault: Fault | null = null;
  private lastValue = 0;
  private batch: (number | null)[] = [];
  private batchT0 = 0;

  constructor(
    readonly plate: Plate,
    private readonly config: SensorConfig,
    private readonly rng: Rng,
    startMs: number,
  ) {
    this.periodMs = 1000 / plate.sampleRateHz;
    this.nextSampleMs = startMs;
    this.batchT0 = startMs;
    // Drift wanders in one direction for a while, as temperature does.
    this.driftVelocity = (rng.chance(0.5) ? 1 : -1) * config.driftGPerHour;
  }

  /** Starts the initial load without a transient, as a plate that was stocked long ago. */
  prime(loadG: number): void {
    this.settled = loadG;
    this.lastTarget = loadG;
    this.lastValue = loadG;
  }

  /**
   * Produces every sample due up to `untilMs`, given the true load over that interval, and returns
   * the batches completed.
   */
  advance(untilMs: number, trueLoadG: number): PlateSamples[] {
    const out: PlateSamples[] = [];
    while (this.nextSampleMs < untilMs) {
      const t = this.nextSampleMs;
      if (this.batch.length === 0) this.batchT0 = t;
      this.batch.push(this.read(t, trueLoadG));
      this.nextSampleMs += this.periodMs;
      if (this.nextSampleMs - this.batchT0 >= BATCH_MS - 1e-6) out.push(this.flush());
    }
    return out;
  }

  private flush(): PlateSamples {
    const batch: PlateSamples = {
      plateId: this.plate.id,
      seq: this.seq++,
      t0Ms: Math.round(this.batchT0),
      sampleRateHz: this.plate.sampleRateHz,
      grams: this.batch,
    };
    this.batch = [];
    return batch;
  }

  private read(tMs: number, targetG: number): number | null {
    if (targetG !== this.lastTarget) {
      this.ringAmp = (targetG - this.lastTarget) * RING_SHARE;
      this.ringStartMs = tMs;
      this.lastTarget = targetG;
    }
    const alpha = 1 - Math.exp(-this.periodMs / SETTLE_TAU_MS);
    this.settled += (targetG - this.settled) * alpha;
    const since = tMs - this.ringStartMs;
    const ring =
      this.ringAmp * Math.exp(-since / RING_DAMPING_MS) * Math.sin((2 * Math.PI * RING_HZ * since) / 1000);
    const hours = this.periodMs / 3_600_000;
    this.driftG += this.driftVelocity * hours;
    if (this.rng.chance(hours * 2)) this.driftVelocity = -this.driftVelocity;
    const value =
      Math.round((this.settled + ring + this.driftG + this.rng.gaussian(0, this.config.noiseSdG)) * 10) / 10;
    return this.applyFaults(tMs, value);
  }

  private applyFaults(tMs: number, value: number): number | null {
    if (this.fault && tMs >= this.fault.untilMs) this.fault = null;
    if (!this.fault) {
      const perSample = this.periodMs / 3_600_000;
      if (this.rng.chance(this.config.dropoutsPerPlatePerHour * perSample)) {
        this.fault = { kind: 'dropout', untilMs: tMs + this.config.dropoutSeconds * 1000, value: null };
      } else if (this.rng.chance(this.config.stuckPerPlatePerHour * perSample)) {
        this.fault = { kind: 'stuck', untilMs: tMs + this.config.stuckSeconds * 1000, value: this.lastValue };
      }
    }
    if (this.fault) return this.fault.value;
    this.lastValue = value;
    return value;
  }

  /** What went wrong with this cell right now, for the ground truth of sensor faults. */
  faultNow(): Fault['kind'] | null {
    return this.fault?.kind ?? null;
  }
}
