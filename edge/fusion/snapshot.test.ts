/**
 * The fusion stopped and rebuilt from its snapshot goes on exactly as if it had never stopped: on
 * the simulator's own store traffic (baseline, seed 5, two minutes, recorded through its CLI) and
 * the shipped detector's boxes for the same run (the tracker's committed fixture), every output
 * after the cut is the same, report for report, at cuts with visits open, tracks live and shelf
 * events pending.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture } from '../../benchmarks/accuracy/tracking-fixture.ts';
import { decodeMessage, loadCatalog, loadLayout, type RecordedMessage } from '../../proto/index.ts';
import type { DecodedMessage } from '../../proto/mqtt/payloads.ts';
import type { FrameDetections } from '../types.ts';
import { buildFusion } from '../wiring.ts';
import { FusionConfig } from './config.ts';
import type { Fusion } from './engine.ts';
import type { FusionOutput } from './outputs.ts';

const repo = new URL('../../', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'walkout-snapshot-'));
const rec = join(root, 'rec');
const MINUTES = 1.2;

type Input = { tsMs: number; device?: DecodedMessage; frame?: FrameDetections };
let inputs: Input[];
let make: () => Fusion;

beforeAll(() => {
  execFileSync(
    process.execPath,
    [
      ...['--import', 'tsx', 'simulator/cli/sim.ts', '--no-progress', '--no-cameras'],
      ...[
        '--scenario',
        'baseline',
        '--seed',
        '5',
        '--minutes',
        String(MINUTES),
        '--record',
        rec,
        '--out',
        rec,
      ],
    ],
    { cwd: repo, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: 'ignore' },
  );
  const catalog = loadCatalog(join(rec, 'catalog.json'));
  const layout = loadLayout(join(rec, 'layout.json'), catalog);
  make = () => buildFusion(layout, catalog, { fusion: FusionConfig.parse({}), weight: {}, tracker: {} });
  const devices: Input[] = [];
  for (const line of readFileSync(join(rec, 'mqtt.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const m = JSON.parse(line) as RecordedMessage;
    try {
      devices.push({ tsMs: m.tsMs, device: decodeMessage(m.topic, m.payload) });
    } catch {
      // Topics the edge does not take (device status) are refused by the decoder, as live.
    }
  }
  const endMs = devices.at(-1)!.tsMs;
  const frames = readFixture(join(repo, 'test/support/fixtures/tracking-baseline-seed5.jsonl'))
    .frames.filter((f) => f.captureMs <= endMs)
    .map((frame): Input => ({ tsMs: frame.captureMs, frame }));
  // Merged in store-clock order as the replay does (a message first at equal times).
  inputs = [...devices, ...frames].sort((a, b) => a.tsMs - b.tsMs || (a.device ? -1 : 1));
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The loop's order: each input, then the time moves to it. */
function feed(fusion: Fusion, from: number, to: number): FusionOutput[] {
  const out: FusionOutput[] = [];
  for (let i = from; i < to; i++) {
    const input = inputs[i]!;
    out.push(...(input.device ? fusion.onDevice(input.device) : fusion.onDetections(input.frame!)));
    out.push(...fusion.tick(input.tsMs));
  }
  return out;
}

describe('Fusion snapshot and restore', () => {
  it('continues after a restore exactly as without the stop', () => {
    const straight = make();
    const cuts = [0.3, 0.55, 0.8].map((f) => Math.floor(inputs.length * f));
    const whole: FusionOutput[][] = [];
    let at = 0;
    for (const cut of [...cuts, inputs.length]) {
      whole.push(feed(straight, at, cut));
      at = cut;
    }
    const reports = whole.flat().filter((o) => o.kind === 'report');
    // The run must be worth comparing: visits, cart lines, closes.
    expect(reports.filter((o) => o.report.body === 'cart').length).toBeGreaterThan(3);
    expect(reports.some((o) => o.report.body === 'visit' && o.report.visit.kind === 'VISIT_CLOSED')).toBe(
      true,
    );

    // The same inputs, with the fusion rebuilt from its snapshot at every cut.
    let fusion = make();
    at = 0;
    const sizes: number[] = [];
    for (const [n, cut] of [...cuts, inputs.length].entries()) {
      const got = feed(fusion, at, cut);
      // The first output that differs (a diff of thousands of outputs would take a minute to print).
      const want = whole[n]!;
      const i = want.findIndex((o, k) => !isDeepStrictEqual(o, got[k]));
      expect(got[i], `output ${i} after cut ${n}`).toEqual(want[i]);
      expect(got.length).toBe(want.length);
      at = cut;
      if (cut === inputs.length) break;
      const bytes = fusion.snapshot();
      sizes.push(bytes.length);
      fusion = make();
      fusion.restore(bytes);
    }
    // Something was open at each cut (else a restore of nothing would pass): the state is not empty.
    for (const size of sizes) expect(size).toBeGreaterThan(10_000);
  }, 60_000);

  it('refuses a snapshot of another shape, and leaves a fresh fusion usable', () => {
    const fusion = make();
    feed(fusion, 0, 5000);
    const bytes = fusion.snapshot();
    const other = make();
    expect(() => other.restore(bytes.subarray(0, 10))).toThrow(/CHECKPOINT_INVALID/);
    const s = deserialize(bytes);
    s.book.extraField = 1;
    expect(() => make().restore(serialize(s))).toThrow(/CHECKPOINT_INVALID/);
    s.version = 0;
    expect(() => make().restore(serialize(s))).toThrow(/CHECKPOINT_INVALID/);
  });
});
