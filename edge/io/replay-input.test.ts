import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWalkoutError, recordingPaths, topics } from '../../proto/index.ts';
import type { EdgeInput } from '../stages.ts';
import type { InputPosition } from '../state/checkpoint.ts';
import { messageTimeMs } from './message-time.ts';
import { loadRecordingStore } from './recording-store.ts';
import { ReplayInput, type ReplayInputOptions } from './replay-input.ts';
import { recordingLogger } from './test-log.ts';

const root = new URL('../../', import.meta.url).pathname;
const base = mkdtempSync(join(tmpdir(), 'walkout-replay-'));
/** A real recording: the reference store cut to two slow cameras, one shopper taking one item. */
const rec = join(base, 'rec');
/** Its cameras: the first at 5 fps, the second at 2 (few frames, so the recording takes seconds). */
let fast: string;
let slow: string;

beforeAll(async () => {
  const layout = JSON.parse(readFileSync(join(root, 'proto/stores/reference/layout.json'), 'utf8'));
  layout.cameras = layout.cameras.slice(0, 2);
  layout.cameras[0].fps = 5;
  layout.cameras[1].fps = 2;
  [fast, slow] = layout.cameras.map((c: { id: string }) => c.id);
  writeFileSync(join(base, 'layout.json'), JSON.stringify(layout));
  const scenario = {
    name: 'replay-test',
    description: 'One shopper who walks in, takes one item and leaves: a short recording with a scan in it.',
    arrivals: { shoppersPerHour: 1, maxInStore: 1, groupProbability: 0 },
    behaviour: {
      itemsPerVisit: { mean: 1, max: 1 },
      inspectProbability: 0,
      putBackProbability: 0,
      leanProbability: 0,
      walkSpeedMps: 2,
    },
  };
  writeFileSync(join(base, 'scenario.json'), JSON.stringify(scenario));
  await promisify(execFile)(
    'npx',
    [
      'tsx',
      'simulator/cli/sim.ts',
      '--no-progress',
      ...['--scenario', join(base, 'scenario.json'), '--seed', '3', '--minutes', '0.05'],
      ...['--layout', join(base, 'layout.json'), '--catalog', 'proto/stores/reference/catalog.json'],
      ...['--record', rec, '--out', rec],
    ],
    { cwd: root, env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
}, 60_000);

afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Everything a replay hands out, and what it counted. */
async function replay(opts: Partial<ReplayInputOptions> & { dir: string; resume?: InputPosition }) {
  const { resume, ...options } = opts;
  const input = new ReplayInput({ log: recordingLogger(), ...options });
  if (resume) input.resumeAfter(resume);
  const inputs: EdgeInput[] = [];
  for (let i = await input.next(); i; i = await input.next()) {
    inputs.push(i);
    if (i.kind === 'frame') input.markProcessed(i.frame.cameraId);
  }
  expect(await input.next()).toBeNull();
  await input.close();
  return { inputs, counters: input.counters(), rejected: input.rejected() };
}

/** One line per input, the JPEG by its hash: equal digests, equal replays. */
function digest(inputs: EdgeInput[]): string {
  const h = createHash('sha256');
  for (const i of inputs)
    h.update(
      i.kind === 'device'
        ? `${i.tsMs} ${JSON.stringify(i.message)}\n`
        : `${i.frame.cameraId} ${i.frame.frameIndex} ${i.frame.captureMs} ${createHash('sha256').update(i.frame.jpeg).digest('hex')}\n`,
    );
  return h.digest('hex');
}

const timeOf = (i: EdgeInput) => (i.kind === 'device' ? i.tsMs : i.frame.captureMs);
const lines = (path: string) => readFileSync(path, 'utf8').trim().split('\n');

describe('replay of a recording', () => {
  it('hands over every message and frame in store-clock order, decoded as live', async () => {
    const { inputs, counters, rejected } = await replay({ dir: rec });
    const recorded = lines(join(rec, recordingPaths.mqtt)).map((l) => JSON.parse(l));
    const devices = inputs.filter((i) => i.kind === 'device');
    // Every message, in the order the broker would have delivered them, with its recorded time.
    expect(devices.map((i) => i.tsMs)).toEqual(recorded.map((r) => r.tsMs));
    expect(devices.map((i) => i.kind === 'device' && i.message.id)).toEqual(
      recorded.map((r) => r.topic.split('/')[3]),
    );
    expect(devices.some((i) => i.kind === 'device' && i.message.kind === 'gateScan')).toBe(true);
    // Live stamps a message with its own time; for the simulator's devices that is the recorded one.
    const offClock = devices.filter(
      (i) => i.kind === 'device' && (messageTimeMs(i.message) ?? i.tsMs) !== i.tsMs,
    );
    expect(offClock).toEqual([]);
    const backwards = inputs.filter((i, k) => k > 0 && timeOf(i) < timeOf(inputs[k - 1]!));
    expect(backwards).toEqual([]);

    for (const cameraId of [fast, slow]) {
      const index = lines(join(rec, recordingPaths.frameIndex(cameraId))).map((l) => JSON.parse(l));
      const frames = inputs.flatMap((i) =>
        i.kind === 'frame' && i.frame.cameraId === cameraId ? [i.frame] : [],
      );
      expect(frames.map((f) => [f.frameIndex, f.captureMs])).toEqual(
        index.map((f) => [f.frameIndex, f.captureMs]),
      );
      const f = frames[7]!;
      expect(
        Buffer.from(f.jpeg).equals(readFileSync(join(rec, recordingPaths.frame(cameraId, f.frameIndex)))),
      ).toBe(true);
      expect(counters[cameraId]).toEqual({ received: index.length, processed: index.length, dropped: 0 });
    }
    expect(counters[fast]!.received).toBeGreaterThan(2.2 * counters[slow]!.received);
    expect(rejected).toEqual({});
  });

  it('gives the same inputs from a copy without truth/, thinned the same way every time', async () => {
    const copy = join(base, 'copy');
    cpSync(rec, copy, { recursive: true });
    rmSync(join(copy, recordingPaths.truth), { recursive: true });
    const a = await replay({ dir: rec, detectFps: 2.5 });
    const b = await replay({ dir: copy, detectFps: 2.5 });
    expect(digest(b.inputs)).toBe(digest(a.inputs));
    expect(b.counters).toEqual(a.counters);
    // 5 fps thinned to 2.5 takes every other frame; a 2 fps camera loses none.
    const c11 = a.counters[fast]!;
    expect(Math.abs(c11.processed - c11.received / 2)).toBeLessThanOrEqual(0.5);
    expect(c11.dropped).toBe(c11.received - c11.processed);
    expect(a.counters[slow]!.dropped).toBe(0);

    // Reads a JPEG only when it hands the frame out: the thinned ones' files are never opened.
    const taken = new Set(
      a.inputs.flatMap((i) => (i.kind === 'frame' ? [`${i.frame.cameraId}/${i.frame.frameIndex}`] : [])),
    );
    for (const line of lines(join(copy, recordingPaths.frameIndex(fast)))) {
      const { frameIndex } = JSON.parse(line);
      if (!taken.has(`${fast}/${frameIndex}`)) rmSync(join(copy, recordingPaths.frame(fast, frameIndex)));
    }
    const c = await replay({ dir: copy, detectFps: 2.5 });
    expect(c.rejected).toEqual({});
    expect(digest(c.inputs)).toBe(digest(a.inputs));
  });

  it('resumes after a checkpoint’s position: the rest, in the same order, and nothing before it', async () => {
    const all = (await replay({ dir: rec })).inputs;
    // A restart's position: the device messages fused, and per camera the newest frame fused, with
    // an older frame of the fast camera still in the detector (not fused: it comes again).
    const cut = Math.floor(all.length * 0.6);
    const before = all.slice(0, cut);
    const framesMs: Record<string, number> = {};
    for (const i of before) if (i.kind === 'frame') framesMs[i.frame.cameraId] = i.frame.captureMs;
    const inDetector = before.findLast((i) => i.kind === 'frame' && i.frame.cameraId === fast)!;
    const fastBefore = before.filter((i) => i.kind === 'frame' && i.frame.cameraId === fast);
    framesMs[fast] = (fastBefore.at(-2) as Extract<EdgeInput, { kind: 'frame' }>).frame.captureMs;
    const position = { devices: before.filter((i) => i.kind === 'device').length, framesMs };
    const { inputs } = await replay({ dir: rec, resume: position });
    const rest = all.slice(cut);
    expect(inputs.filter((i) => i.kind === 'device')).toEqual(rest.filter((i) => i.kind === 'device'));
    const key = (i: EdgeInput) => (i.kind === 'frame' ? `${i.frame.cameraId}/${i.frame.frameIndex}` : '');
    expect(inputs.filter((i) => i.kind === 'frame').map(key)).toEqual(
      [inDetector, ...rest].filter((i) => i.kind === 'frame').map(key),
    );
  });

  it('counts, logs and skips bad lines and frames, and hands over everything else', async () => {
    // A short recording made of the real one's first lines and frames, with bad ones among them.
    const dir = join(base, 'bad');
    mkdirSync(join(dir, 'frames', 'cam-11'), { recursive: true });
    const good = lines(join(rec, recordingPaths.mqtt)).slice(0, 300);
    const t = JSON.parse(good[150]!).tsMs;
    const line = (topic: string, payload: string) =>
      JSON.stringify({ tsMs: t, topic, retain: false, payload });
    const scan = { scanId: 's-1', gateId: 'gate-in', scannerId: 'scanner-in', tsMs: t, qr: 'WO1.x' };
    const bad = [
      '{"tsMs": 1, "topic": ', // RECORDING_INVALID: not JSON
      JSON.stringify({ tsMs: t, topic: 'walkout/ref-001/gates/gate-in/scans' }), // RECORDING_INVALID: no payload
      line(topics.gateScan('ref-001', 'gate-in'), '{"scanId":'), // PAYLOAD_INVALID: body not JSON
      line(topics.gateScan('ref-001', 'gate-in'), JSON.stringify({ ...scan, qr: '' })), // PAYLOAD_INVALID: schema
      line(topics.gateScan('ref-001', 'gate-out'), JSON.stringify(scan)), // PAYLOAD_INVALID: id mismatch
      line('walkout/ref-001/gates/gate-in/opinions', JSON.stringify(scan)), // TOPIC_UNKNOWN
    ];
    writeFileSync(
      join(dir, recordingPaths.mqtt),
      `${[...good.slice(0, 150), ...bad, ...good.slice(150)].join('\n')}\n`,
    );
    const index = lines(join(rec, recordingPaths.frameIndex('cam-11'))).slice(0, 10);
    for (const l of index) {
      const { frameIndex } = JSON.parse(l);
      cpSync(
        join(rec, recordingPaths.frame('cam-11', frameIndex)),
        join(dir, recordingPaths.frame('cam-11', frameIndex)),
      );
    }
    const { frameIndex: last, captureMs } = JSON.parse(index.at(-1)!);
    writeFileSync(join(dir, recordingPaths.frame('cam-11', last + 2)), 'not a jpeg'); // FRAME_INVALID
    const extra = [
      JSON.stringify({ frameIndex: last + 1, captureMs: captureMs + 100 }), // FRAME_INVALID: no file
      JSON.stringify({ frameIndex: last + 2, captureMs: captureMs + 200 }),
      '{"frameIndex": "three"}', // RECORDING_INVALID
      JSON.stringify({ frameIndex: last + 3, captureMs: captureMs + 300, boxes: [] }), // RECORDING_INVALID: not ours
    ];
    writeFileSync(join(dir, recordingPaths.frameIndex('cam-11')), `${[...index, ...extra].join('\n')}\n`);

    const log = recordingLogger();
    const { inputs, counters, rejected } = await replay({ dir, log });
    expect(inputs.filter((i) => i.kind === 'device')).toHaveLength(300);
    expect(inputs.filter((i) => i.kind === 'frame')).toHaveLength(10);
    expect(rejected).toEqual({
      RECORDING_INVALID: 4,
      PAYLOAD_INVALID: 3,
      TOPIC_UNKNOWN: 1,
      FRAME_INVALID: 2,
    });
    expect(counters['cam-11']).toEqual({ received: 12, processed: 10, dropped: 2 });
    const errors = log.lines.filter((l) => l.level === 'warn').map((l) => String(l.fields.error));
    expect(errors).toContainEqual(expect.stringMatching(/mqtt\.jsonl:151: not JSON/));
    expect(errors).toContainEqual(
      expect.stringMatching(/gate-out\/scans: gateId gate-in does not match the topic/),
    );
    expect(errors).toContainEqual(expect.stringMatching(/index\.jsonl:14: .*boxes/));
    expect(errors).toContainEqual(expect.stringMatching(/10 bytes, not a JPEG/));
  });

  it('refuses a recording made before frame indexes, and a directory that is no recording', () => {
    const old = join(base, 'old');
    mkdirSync(join(old, 'frames', 'cam-11'), { recursive: true });
    writeFileSync(join(old, 'mqtt.jsonl'), '');
    writeFileSync(join(old, 'frames', 'cam-11', 'labels.jsonl'), '');
    const errorOf = (dir: string) => {
      try {
        new ReplayInput({ dir, log: recordingLogger() });
      } catch (err) {
        return err;
      }
    };
    const err = errorOf(old);
    expect(isWalkoutError(err, 'FILE_UNREADABLE')).toBe(true);
    expect((err as Error).message).toContain('frames/cam-11/index.jsonl');
    expect(isWalkoutError(errorOf(join(base, 'nothing')), 'FILE_UNREADABLE')).toBe(true);
  });

  it('loads the store it was recorded in, validated, for --replay without --layout', () => {
    const { layout, catalog } = loadRecordingStore(rec);
    expect(layout.cameras.map((c) => c.id)).toEqual([fast, slow]);
    expect(layout.cameras.map((c) => c.fps)).toEqual([5, 2]);
    expect(catalog.items.length).toBeGreaterThan(10);
    const broken = join(base, 'broken');
    mkdirSync(broken, { recursive: true });
    cpSync(join(rec, 'catalog.json'), join(broken, 'catalog.json'));
    writeFileSync(join(broken, 'layout.json'), JSON.stringify({ ...layout, cameras: 'none' }));
    let err: unknown;
    try {
      loadRecordingStore(broken);
    } catch (e) {
      err = e;
    }
    expect(isWalkoutError(err, 'FILE_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/layout\.json: cameras/);
  });
});
