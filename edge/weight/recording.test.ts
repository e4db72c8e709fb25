import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreLayout } from '../../proto/layout/schema.ts';
import {
  type Replay,
  readTruth,
  replayRecording,
  scoreReplay,
  type TruthChange,
} from '../../test/support/weight-replay.ts';

/**
 * The weight stage on the simulator's own traffic: short --no-cameras recordings made through its
 * CLI (a few seconds each), replayed as the edge would take them, scored against ground truth.
 */
const root = mkdtempSync(join(tmpdir(), 'walkout-weight-'));
const repo = new URL('../../', import.meta.url).pathname;

function record(scenario: string, seed: number): string {
  const dir = join(root, `${scenario}-${seed}`);
  execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'simulator/cli/sim.ts',
      '--record',
      dir,
      '--out',
      dir,
      '--no-cameras',
      '--scenario',
      scenario,
      '--seed',
      String(seed),
      '--minutes',
      '2.5',
    ],
    { cwd: repo, stdio: 'ignore' },
  );
  return dir;
}

interface Fault {
  tsMs: number;
  plateId: string;
  fault: 'dropout' | 'stuck';
  phase: 'start' | 'end';
}

const runs: Record<string, { dir: string; replay: Replay; truth: TruthChange[]; layout: StoreLayout }> = {};

beforeAll(async () => {
  for (const [scenario, seed] of [
    ['baseline', 7],
    ['sensor-faults', 7],
  ] as const) {
    const dir = record(scenario, seed);
    const layout = StoreLayout.parse(JSON.parse(readFileSync(join(dir, 'layout.json'), 'utf8')));
    runs[scenario] = { dir, replay: await replayRecording(dir), truth: readTruth(dir), layout };
  }
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('weight stage on simulator recordings', () => {
  it('finds and identifies every pick and put-back of an ordinary morning, and nothing else', () => {
    const { replay, truth, layout } = runs.baseline!;
    const score = scoreReplay(replay, truth, layout);
    expect(score.truth).toBeGreaterThan(5);
    expect(score.misses).toEqual([]);
    expect(score.falseEvents).toEqual([]);
    expect(score.identified).toBe(score.found);
    expect(replay.health).toEqual([]);
  });

  it('reports every dropout and stuck cell of ageing hardware as health, and makes no pick of them', () => {
    const { dir, replay, truth, layout } = runs['sensor-faults']!;
    const faults = readFileSync(join(dir, 'truth', 'faults.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Fault);
    const starts = faults.filter((f) => f.phase === 'start');
    expect(starts.length).toBeGreaterThan(3);
    for (const f of starts) {
      const seen = replay.health.find(
        (h) => h.plateId === f.plateId && h.status === f.fault && Math.abs(h.sinceMs - f.tsMs) < 1500,
      );
      expect(seen, `${f.fault} on ${f.plateId} at ${f.tsMs}`).toBeDefined();
    }
    expect(replay.health.filter((h) => h.status !== 'ok')).toHaveLength(starts.length);
    // Changes while a plate was faulted are reported as such; every other one is found and read.
    const faulted = (t: TruthChange) =>
      starts.some((f) => {
        const end = faults.find((e) => e.phase === 'end' && e.plateId === f.plateId && e.tsMs >= f.tsMs);
        return (
          f.plateId === t.plateId &&
          t.tsMs >= f.tsMs - 1000 &&
          t.tsMs <= (end?.tsMs ?? Number.POSITIVE_INFINITY) + 1000
        );
      });
    const score = scoreReplay(replay, truth, layout);
    expect(score.misses.filter((m) => !faulted(m))).toEqual([]);
    expect(score.falseEvents).toEqual([]);
    expect(score.identified).toBe(score.found);
  });
});
