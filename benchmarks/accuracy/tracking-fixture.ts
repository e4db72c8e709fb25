/**
 * A compact, committed slice of a recording for the tracker's tests: the shipped detector's
 * person, head and hand boxes per frame (from detect-recording.ts), capture times, the store's
 * cameras and gates, the truth's floor positions and entries. Numbers are stored as integers
 * (scores ×1000, whole pixels, metres ×1000) and times relative to `originMs`.
 *
 * Build:
 *   npx tsx benchmarks/accuracy/tracking-fixture.ts --rec /tmp/tracking/REC --dets /tmp/tracking/dets.jsonl \
 *     --out test/support/fixtures/tracking-baseline-seed5.jsonl --every 2 --classes person,head
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { FrameDetections } from '../../edge/types.ts';
import type { Camera, Gate, Vec2 } from '../../proto/layout/schema.ts';
import { type Truth, truthFromLines } from './truth.ts';

const CLASSES = ['person', 'head', 'hand', 'item'] as const;

interface FixtureFile {
  about: string;
  originMs: number;
  cameras: Camera[];
  gates: Gate[];
  entries: { personId: string; tMs: number }[];
  /** [camera index, frame index, capture ms − origin, [[class index, score‰, x, y, w, h (px)], …]] */
  frames: [number, number, number, [number, number, number, number, number, number][]][];
  /** [ms − origin, [[person id, x mm, y mm], …]] */
  truth: [number, [string, number, number][]][];
}

export interface TrackingFixture {
  frames: FrameDetections[];
  layout: { cameras: Camera[]; gates: Gate[] };
  truth: Truth;
  entries: { personId: string; tsMs: number }[];
}

/**
 * JSON Lines (diffable, and skipped by the formatter, which a 0.6 MB one-line JSON stalls): the
 * header, then one line per frame `["frame", camera, frameIndex, t, detections]`, then one per
 * truth sample `["truth", t, people]`.
 */
function toLines(f: FixtureFile): string {
  const { frames, truth, ...header } = f;
  return [
    JSON.stringify(header),
    ...frames.map((x) => JSON.stringify(['frame', ...x])),
    ...truth.map((x) => JSON.stringify(['truth', ...x])),
  ].join('\n');
}

function fromLines(text: string): FixtureFile {
  const [head, ...rest] = text.trim().split('\n');
  const f = {
    ...(JSON.parse(head!) as Omit<FixtureFile, 'frames' | 'truth'>),
    frames: [],
    truth: [],
  } as FixtureFile;
  for (const line of rest) {
    const [kind, ...x] = JSON.parse(line) as [string, ...unknown[]];
    if (kind === 'frame') f.frames.push(x as FixtureFile['frames'][number]);
    else f.truth.push(x as FixtureFile['truth'][number]);
  }
  return f;
}

export function readFixture(path: string): TrackingFixture {
  const f = fromLines(readFileSync(path, 'utf8'));
  const o = f.originMs;
  return {
    layout: { cameras: f.cameras, gates: f.gates },
    entries: f.entries.map((e) => ({ personId: e.personId, tsMs: e.tMs + o })),
    frames: f.frames.map(([cam, frameIndex, t, dets]) => ({
      cameraId: f.cameras[cam]!.id,
      frameIndex,
      captureMs: t + o,
      detections: dets.map(([c, s, x, y, w, h]) => ({
        classIndex: c,
        cls: CLASSES[c]!,
        score: s / 1000,
        bbox: { x, y, w, h },
      })),
    })),
    truth: truthFromLines(
      f.truth.map(([t, people]) => ({
        tsMs: t + o,
        persons: people.map(([personId, x, y]) => ({ personId, floorM: [x / 1000, y / 1000] as Vec2 })),
      })),
    ),
  };
}

function build(): void {
  const { values } = parseArgs({
    options: {
      rec: { type: 'string' },
      dets: { type: 'string' },
      out: { type: 'string' },
      every: { type: 'string', default: '2' },
      'min-score': { type: 'string', default: '0.2' },
      'truth-hz': { type: 'string', default: '5' },
      classes: { type: 'string', default: 'person,head,hand' },
    },
  });
  const rec = values.rec!;
  const every = Number(values.every);
  const minScore = Number(values['min-score']);
  const truthHz = Number(values['truth-hz']);
  const classes = new Set(values.classes.split(','));
  const layout = JSON.parse(readFileSync(join(rec, 'layout.json'), 'utf8')) as {
    cameras: Camera[];
    gates: Gate[];
  };
  const frames = readFileSync(values.dets!, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as FrameDetections)
    .filter((f) => f.frameIndex % every === 0);
  const originMs = frames[0]!.captureMs;
  const camIndex = new Map(layout.cameras.map((c, i) => [c.id, i]));
  const positions = readFileSync(join(rec, 'truth', 'positions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { tsMs: number; persons: { personId: string; floorM: Vec2 }[] });
  const events = readFileSync(join(rec, 'truth', 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; tsMs: number; personId?: string });
  const summary = JSON.parse(readFileSync(join(rec, 'summary.json'), 'utf8')) as {
    scenario: string;
    seed: number;
  };
  const r = (v: number, k: number) => Math.round(v * k);
  const file: FixtureFile = {
    about:
      `simulator ${summary.scenario} seed ${summary.seed}, frames whose index is a multiple of ${every} per camera, truth at ${truthHz} Hz; shipped detector at score ≥ ${minScore} ` +
      `(${values.classes}); built by benchmarks/accuracy/tracking-fixture.ts`,
    originMs,
    cameras: layout.cameras,
    gates: layout.gates,
    entries: events
      .filter((e) => e.type === 'enter')
      .map((e) => ({ personId: e.personId!, tMs: e.tsMs - originMs })),
    frames: frames.map((f) => [
      camIndex.get(f.cameraId)!,
      f.frameIndex,
      f.captureMs - originMs,
      f.detections
        .filter((d) => classes.has(d.cls) && d.score >= minScore)
        .map((d) => [
          d.classIndex,
          r(d.score, 1000),
          r(d.bbox.x, 1),
          r(d.bbox.y, 1),
          r(d.bbox.w, 1),
          r(d.bbox.h, 1),
        ]),
    ]),
    truth: positions
      .filter(
        (p) =>
          p.tsMs >= originMs &&
          Math.round(((p.tsMs - originMs) * truthHz) / 1000) === ((p.tsMs - originMs) * truthHz) / 1000,
      )
      .map((p) => [
        p.tsMs - originMs,
        p.persons.map((q) => [q.personId, r(q.floorM[0], 1000), r(q.floorM[1], 1000)]),
      ]),
  };
  const text = toLines(file);
  writeFileSync(values.out!, `${text}\n`);
  process.stderr.write(`${values.out}: ${frames.length} frames, ${text.length} bytes\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) build();
