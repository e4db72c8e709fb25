import type { PlateSamples } from '../../proto/mqtt/payloads.ts';
import { fieldsOf, restoreFields, type Stateful } from '../state/fields.ts';
import type { PlateHealth } from '../types.ts';
import type { WeightConfig } from './config.ts';

/**
 * One plate's raw samples turned into 100 ms blocks (mean and spread), a learned noise level, a
 * settled level, and its health. Written by hand: it is a few sums per sample (80 plates × 60 Hz
 * must cost next to nothing), and no library judges load-cell blocks.
 */

/** What one block of samples says. `unknown`: too few samples, or a repeat run (maybe stuck). */
export type BlockKind = 'quiet' | 'moving' | 'unknown';

export interface Block {
  startMs: number;
  endMs: number;
  kind: BlockKind;
  meanG: number;
}

type Status = PlateHealth['status'];

/** Given at construction: not state. */
const SIGNAL_DERIVED = ['plateId', 'config', 'onBlock', 'onHealth'];

export class PlateSignal implements Stateful {
  status: Status = 'ok';
  /** False until the plate has settled once since it started or since its last fault. */
  trusted = false;
  /** The level changes are measured from: the settled level before the current activity. */
  baselineG = 0;
  /** Baseline before the plate's last fault, to report what changed while it could not be read. */
  private preFaultBaselineG: number | null = null;
  private preFaultMs = 0;
  noiseSdG: number;
  /** What changed on this plate while it was not trusted (a fault), set once it is trusted again. */
  faultChange: { plateId: string; deltaG: number; fromMs: number; toMs: number } | null = null;

  private readonly pending: PlateSamples[] = [];
  private readonly recentKeys: string[] = [];
  lastSampleMs = Number.NEGATIVE_INFINITY;
  /** The caller's clock when the last batch came. */
  private lastHeardMs = Number.NEGATIVE_INFINITY;

  private blockStartMs = 0;
  private blockSamples = 0;
  private blockN = 0;
  private blockSum = 0;
  private blockSumSq = 0;
  private blockRepeats = 0;
  private prevBlockMeanG: number | null = null;
  lastBlockMeanG: number | null = null;

  /** Quiet blocks in a row and their sums: the plate's level while settled. */
  private quietSinceMs = 0;
  private quietBlocks = 0;
  private quietSum = 0;
  private quietN = 0;

  private nullRunStartMs: number | null = null;
  private repeatValue: number | null = null;
  private repeatStartMs = 0;
  private repeatSamples = 0;

  constructor(
    readonly plateId: string,
    private readonly config: WeightConfig,
    private readonly onBlock: (plate: PlateSignal, block: Block) => void,
    private readonly onHealth: (health: PlateHealth) => void,
  ) {
    this.noiseSdG = config.initialNoiseSdG;
  }

  /** Health, baseline, noise, the block and quiet run in progress, batches waiting. */
  state(): unknown {
    return fieldsOf(this, SIGNAL_DERIVED);
  }

  restore(state: unknown): void {
    restoreFields(this, state, SIGNAL_DERIVED, `plate ${this.plateId}`);
  }

  /** Queues a batch; `process` takes it in t0Ms order. An exact repeat of a recent batch is dropped. */
  /** `heardMs`: the caller's clock when the batch came (a plate is silent when nothing comes). */
  push(batch: PlateSamples, heardMs = Number.NEGATIVE_INFINITY): void {
    this.lastHeardMs = Math.max(this.lastHeardMs, heardMs);
    if (this.status === 'silent' && Number.isFinite(heardMs)) this.setStatus('ok', heardMs, 'samples again');
    const g = batch.grams;
    const key = `${batch.t0Ms}:${g.length}:${g[0]}:${g[g.length - 1]}`;
    if (this.recentKeys.includes(key)) return;
    this.recentKeys.push(key);
    if (this.recentKeys.length > 16) this.recentKeys.shift();
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1]!.t0Ms > batch.t0Ms) i--;
    this.pending.splice(i, 0, batch);
  }

  /** Processes every batch that started by `horizonMs` (and the oldest, when too many wait). */
  process(horizonMs: number): void {
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      if (next.t0Ms > horizonMs && this.pending.length <= this.config.maxPendingBatches) break;
      this.pending.shift();
      this.ingest(next);
    }
  }

  private ingest(batch: PlateSamples): void {
    const periodMs = 1000 / batch.sampleRateHz;
    const perBlock = Math.max(1, Math.round(this.config.blockMs / periodMs));
    for (let i = 0; i < batch.grams.length; i++) {
      // Batches jitter and overlap in time: keep every sample, but never let time run backwards.
      const tMs = Math.max(batch.t0Ms + i * periodMs, this.lastSampleMs);
      this.sample(tMs, batch.grams[i] ?? null, periodMs, perBlock);
    }
  }

  private sample(tMs: number, g: number | null, periodMs: number, perBlock: number): void {
    if (this.status === 'silent') this.setStatus('ok', tMs, 'samples again');
    this.lastSampleMs = tMs;
    if (this.blockSamples === 0) this.blockStartMs = tMs;
    this.blockSamples += 1;
    if (g === null) {
      this.nullRunStartMs ??= tMs;
      if (this.status === 'ok' && tMs - this.nullRunStartMs >= this.config.dropoutAfterMs)
        this.setStatus('dropout', this.nullRunStartMs);
    } else {
      if (this.status === 'dropout') this.setStatus('ok', tMs, 'samples again');
      this.nullRunStartMs = null;
      if (g === this.repeatValue) {
        this.repeatSamples += 1;
        if (this.status === 'ok' && tMs - this.repeatStartMs >= this.config.stuckAfterMs)
          this.setStatus('stuck', this.repeatStartMs, `reads ${g} g unchanged`);
      } else {
        if (this.status === 'stuck') this.setStatus('ok', tMs, 'reading moves again');
        this.repeatValue = g;
        this.repeatStartMs = tMs;
        this.repeatSamples = 1;
      }
      if (this.repeatSamples > 1) this.blockRepeats += 1;
      this.blockN += 1;
      this.blockSum += g;
      this.blockSumSq += g * g;
    }
    if (this.blockSamples >= perBlock) this.closeBlock(tMs + periodMs, perBlock);
  }

  private closeBlock(endMs: number, perBlock: number): void {
    const n = this.blockN;
    const startMs = this.blockStartMs;
    const suspect = this.blockRepeats >= Math.min(perBlock, this.config.suspectRepeatSamples);
    let kind: BlockKind = 'unknown';
    let meanG = this.lastBlockMeanG ?? 0;
    if (n * 2 > perBlock && !suspect && this.status === 'ok') {
      meanG = this.blockSum / n;
      const sd = Math.sqrt(Math.max(0, this.blockSumSq / n - meanG * meanG));
      const quietSd = Math.max(this.config.quietSdFloorG, this.config.quietSdFactor * this.noiseSdG);
      const tol = Math.max(this.config.levelTolFloorG, this.config.levelTolFactor * this.noiseSdG);
      const steady = this.prevBlockMeanG === null || Math.abs(meanG - this.prevBlockMeanG) <= tol;
      kind = sd <= quietSd && steady ? 'quiet' : 'moving';
      if (kind === 'quiet') {
        // The noise is learned from quiet blocks only; n/(n−1) undoes the block sd's bias.
        const sampleSd = sd * Math.sqrt(n / Math.max(1, n - 1));
        const learned = this.noiseSdG + this.config.noiseLearnRate * (sampleSd - this.noiseSdG);
        this.noiseSdG = Math.min(this.config.maxNoiseSdG, Math.max(this.config.minNoiseSdG, learned));
      }
      this.prevBlockMeanG = meanG;
      this.lastBlockMeanG = meanG;
    }
    if (kind === 'quiet') {
      if (this.quietBlocks === 0) {
        this.quietSinceMs = startMs;
        this.quietSum = 0;
        this.quietN = 0;
      }
      this.quietBlocks += 1;
      this.quietSum += this.blockSum;
      this.quietN += n;
    } else {
      this.quietBlocks = 0;
      if (kind === 'unknown') this.prevBlockMeanG = null;
    }
    this.blockSamples = 0;
    this.blockN = 0;
    this.blockSum = 0;
    this.blockSumSq = 0;
    this.blockRepeats = 0;
    if (!this.trusted && this.status === 'ok' && this.settled(endMs)) this.retrust(endMs);
    this.onBlock(this, { startMs, endMs, kind, meanG });
  }

  /** Quiet for at least settleMs up to `atMs`. */
  settled(atMs: number): boolean {
    return this.quietBlocks > 0 && atMs - this.quietSinceMs >= this.config.settleMs;
  }

  /** Mean of the current quiet run. */
  levelG(): number {
    return this.quietN > 0 ? this.quietSum / this.quietN : (this.lastBlockMeanG ?? 0);
  }

  /** While nothing happens, the baseline follows the settled level slowly: drift does nothing. */
  follow(meanG: number): void {
    this.baselineG += this.config.baselineFollowRate * (meanG - this.baselineG);
  }

  private retrust(atMs: number): void {
    this.trusted = true;
    this.baselineG = this.levelG();
    if (this.preFaultBaselineG !== null) {
      const deltaG = Math.round((this.baselineG - this.preFaultBaselineG) * 10) / 10;
      if (Math.abs(deltaG) >= this.config.eventMinG)
        this.faultChange = { plateId: this.plateId, deltaG, fromMs: this.preFaultMs, toMs: atMs };
    }
    this.preFaultBaselineG = null;
  }

  /**
   * Checks silence against the caller's clock: since the last sample processed or the last batch
   * heard, whichever is later. Samples are processed a reorder hold behind the clock, and a plate's
   * own clock may run behind the store's: by samples alone, such a plate flapped between silent
   * and ok on every batch, each time with a health report and an alert.
   */
  checkSilence(nowMs: number, startedMs: number): void {
    const last = Math.max(this.lastSampleMs, this.lastHeardMs);
    const since = Number.isFinite(last) ? last : startedMs;
    if (this.status !== 'silent' && nowMs - since >= this.config.silentAfterMs)
      this.setStatus('silent', since, 'no samples');
  }

  private setStatus(status: Status, sinceMs: number, detail?: string): void {
    if (status !== 'ok') {
      if (this.trusted) {
        this.preFaultBaselineG = this.baselineG;
        this.preFaultMs = sinceMs;
      }
      this.trusted = false;
      this.quietBlocks = 0;
      this.prevBlockMeanG = null;
    }
    this.status = status;
    this.onHealth({
      plateId: this.plateId,
      status,
      sinceMs: Math.round(sinceMs),
      ...(detail ? { detail } : {}),
    });
  }
}
