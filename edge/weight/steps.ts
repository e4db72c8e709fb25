/**
 * The reaches inside one plate's change: where its level rested on the way from the baseline to
 * the settled level. Two shoppers taking from one plate a second apart never let the shelf settle
 * in between, so their picks are one weight event; but the plate's level rests for a few blocks
 * between the two takes (a kept baseline run: 5332 g, then 5202 and 5197 g for 0.2 s, then 5064 g:
 * two units of 134 g, 0.4 s apart). A single reach for several units leaves no such rest. Pure.
 */

/** One 100 ms block's mean during an open change. */
export interface TraceBlock {
  tMs: number;
  meanG: number;
}

/** One step of a plate's change: the level it came to rest at, minus the previous one. */
export interface ReachStep {
  atMs: number;
  deltaG: number;
}

export interface StepConfig {
  /** Consecutive blocks whose means are within this of each other are a rest (grams). */
  restTolG: number;
  /** A rest is at least this many blocks. */
  restBlocks: number;
  /** Each step moves at least this far (grams): the smallest change an event is made of. */
  minStepG: number;
}

/**
 * The steps of a change that went one way (all takes or all put-backs) through rests between
 * `baselineG` and `finalG`; fewer than two steps (one reach, or no clear rest) give []. Rests off
 * the way (a hand leaning on the plate, the item held above it) are not steps.
 */
export function reachSteps(
  trace: readonly TraceBlock[],
  baselineG: number,
  finalG: number,
  config: StepConfig,
): ReachStep[] {
  const sign = Math.sign(finalG - baselineG);
  if (sign === 0 || Math.abs(finalG - baselineG) < 2 * config.minStepG) return [];
  const rests: { atMs: number; levelG: number }[] = [];
  let run: TraceBlock[] = [];
  const closeRun = () => {
    if (run.length >= config.restBlocks)
      rests.push({ atMs: run[0]!.tMs, levelG: run.reduce((a, b) => a + b.meanG, 0) / run.length });
    run = [];
  };
  for (const b of trace) {
    const last = run[run.length - 1];
    if (last && Math.abs(b.meanG - last.meanG) > config.restTolG) closeRun();
    run.push(b);
  }
  closeRun();
  const steps: ReachStep[] = [];
  let levelG = baselineG;
  for (const r of rests) {
    // On the way: past the last level by a step, short of the end by one.
    const moved = (r.levelG - levelG) * sign;
    const left = (finalG - r.levelG) * sign;
    if (moved >= config.minStepG && left >= config.minStepG) {
      steps.push({ atMs: r.atMs, deltaG: r.levelG - levelG });
      levelG = r.levelG;
    }
  }
  if (steps.length === 0) return [];
  // The last step ends at the settled level, reached where the last rest on the way ended.
  const end = rests.find(
    (r) => r.atMs > steps[steps.length - 1]!.atMs && Math.abs(r.levelG - finalG) < config.minStepG,
  );
  steps.push({ atMs: end?.atMs ?? trace[trace.length - 1]?.tMs ?? 0, deltaG: finalG - levelG });
  return steps.map((s) => ({ atMs: s.atMs, deltaG: Math.round(s.deltaG * 10) / 10 }));
}
