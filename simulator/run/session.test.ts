import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isWalkoutError } from '../../proto/index.ts';
import { createOfflineApp } from '../io/offline-app.ts';
import { loadScenario } from '../scenario/load.ts';
import { Engine } from './engine.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

async function sim(args: string[]) {
  const { stdout } = await run('npx', ['tsx', 'simulator/cli/sim.ts', '--no-progress', ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  return JSON.parse(stdout);
}

describe('a whole simulated run', () => {
  it('is deterministic: same seed, same ground truth hash and files; another seed, another hash', async () => {
    const base = mkdtempSync(join(tmpdir(), 'walkout-det-'));
    const args = (seed: number, name: string) => [
      '--scenario',
      'groups-and-handoffs',
      '--seed',
      String(seed),
      '--minutes',
      '3',
      '--record',
      join(base, `rec-${name}`),
      '--no-cameras',
      '--out',
      join(base, name),
    ];
    const [a, b, c] = await Promise.all([sim(args(7, 'a')), sim(args(7, 'b')), sim(args(8, 'c'))]);
    expect(a.groundTruthSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b.groundTruthSha256).toBe(a.groundTruthSha256);
    expect(c.groundTruthSha256).not.toBe(a.groundTruthSha256);
    for (const f of ['truth/events.jsonl', 'truth/visits.json', 'truth/positions.jsonl']) {
      expect(readFileSync(join(base, 'b', f), 'utf8')).toBe(readFileSync(join(base, 'a', f), 'utf8'));
    }
    expect(readFileSync(join(base, 'rec-b', 'mqtt.jsonl'), 'utf8')).toBe(
      readFileSync(join(base, 'rec-a', 'mqtt.jsonl'), 'utf8'),
    );
    const summary = JSON.parse(readFileSync(join(base, 'a', 'summary.json'), 'utf8'));
    for (const key of [
      'scenario',
      'seed',
      'simulatedSeconds',
      'wallSeconds',
      'shoppers',
      'visits',
      'picks',
      'putBacks',
      'misplacedItems',
      'handOffs',
      'mqttMessages',
      'frames',
      'groundTruthSha256',
    ]) {
      expect(summary).toHaveProperty(key);
    }
    expect(summary.visits).toBeGreaterThan(2);
    expect(summary.picks).toBeGreaterThan(0);
    expect(summary.mqttMessages).toBeGreaterThan(80 * 10 * 180 * 0.9);
  });

  it('conserves the weight of every item, on plates, in hands and baskets and gone with visits, at every step', () => {
    const loaded = loadScenario('groups-and-handoffs');
    const app = createOfflineApp(loaded.layout.storeId, 'test');
    const engine = new Engine({
      ...loaded,
      seed: 3,
      app,
      authority: { kind: 'local', verify: app.verify },
      minutes: 4,
    });
    const initial = engine.world.totalItemWeightG();
    let steps = 0;
    let moved = 0;
    while (!engine.done() && steps < 20 * 60 * 30) {
      const r = engine.step();
      moved += r.truth.filter(
        (e) => e.type === 'pick' || e.type === 'putback' || e.type === 'handoff',
      ).length;
      expect(engine.world.totalItemWeightG()).toBeCloseTo(engine.world.madeWeightG, 3);
      steps++;
    }
    expect(engine.done()).toBe(true);
    expect(moved).toBeGreaterThan(10);
    // Everyone has left: every gram made (stock, and what staff brought in) is on a plate or went out with a visit.
    const departed = engine.world.departed.reduce((s, i) => s + i.weightG, 0);
    let onPlates = 0;
    for (const p of engine.world.plates.values()) for (const i of p.items) onPlates += i.weightG;
    expect(departed).toBeGreaterThan(0);
    expect(onPlates).toBeLessThan(initial);
    expect(onPlates + departed).toBeCloseTo(engine.world.madeWeightG, 3);
  });

  it('denies a forged entry code at the gate, and the forger never enters', () => {
    const loaded = loadScenario('baseline');
    const real = createOfflineApp(loaded.layout.storeId, 'secret');
    const forger = createOfflineApp(loaded.layout.storeId, 'guessed');
    let n = 0;
    // Every other shopper shows a code signed with the wrong key.
    const app = {
      requestEntryCode: (r: Parameters<typeof real.requestEntryCode>[0]) =>
        (n++ % 2 === 0 ? real : forger).requestEntryCode(r),
    };
    const engine = new Engine({
      ...loaded,
      seed: 4,
      app,
      authority: { kind: 'local', verify: real.verify },
      minutes: 3,
    });
    const commands: { action: string; scanId?: string }[] = [];
    while (!engine.done()) {
      for (const m of engine.step().messages)
        if (m.kind === 'gateCommand') commands.push(m.payload as { action: string });
    }
    expect(commands.filter((c) => c.action === 'deny').length).toBeGreaterThan(0);
    expect(commands.filter((c) => c.action === 'open').length).toBeGreaterThan(0);
    const forged = [...engine.world.visits.values()].filter(
      (v) => v.qr !== null && real.verify(v.qr) === null,
    );
    expect(forged.length).toBeGreaterThan(0);
    expect(forged.filter((v) => v.enteredMs !== null).map((v) => v.visitId)).toEqual([]);
  });

  it('refuses a bad scenario file, naming the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'walkout-scn-'));
    const path = join(dir, 'bad.json');
    writeFileSync(
      path,
      JSON.stringify({ name: 'bad', description: 'x', behaviour: { putBackProbability: 1.5 } }),
    );
    try {
      loadScenario(path);
      expect.unreachable();
    } catch (err) {
      expect(isWalkoutError(err, 'FILE_INVALID')).toBe(true);
      expect((err as Error).message).toContain(path);
      expect((err as Error).message).toContain('behaviour.putBackProbability');
    }
  });

  it('refuses contradictory flags with a clear error and exit code 2', async () => {
    const err = await sim(['--speed', '2', '--record', '/tmp/x', '--out', '/tmp/y']).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('--speed and --record exclude each other');
  });
});
