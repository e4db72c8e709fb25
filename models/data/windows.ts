/**
 * `tsx models/data/windows.ts [--data models/.data] [--models models]`: the held-item model's
 * training and validation windows, read from the main stream. `npm run models:data` runs it last.
 *
 * The held-item model looks again at each hand and item the detector proposes, in a window of the
 * camera's main stream (HELD_ITEM_WINDOW). Its windows are drawn here, once, from the moments the
 * dataset recorded (scenes.ts): in training, centred on labelled hands and items (jittered as the
 * detector's boxes are), on people, anywhere, and on what the shipped detector proposes, false
 * proposals included (products on the shelf, skin-coloured clothes), which windows on labels alone
 * never show; in validation, on every proposal, as the edge would see them. Writes, per split,
 * detector/{split}/held-item/windows.u8 (N × side·scale × side·scale × 3), windows.jsonl (per
 * window: frame, origin x, y in detect-stream pixels, kind, proposal score) and windows.json.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from '../../simulator/core/rng.ts';
import { type DetectorSplit, openDetectorSplit, readMeta } from '../eval/dataset.ts';
import type { GtBox } from '../eval/metrics.ts';
import { HELD_ITEM_PROPOSALS, heldItemProposals, heldItemWindow, padWindow } from '../runtime/held-item.ts';
import { findManifest, loadDetector, readManifest } from '../runtime/load.ts';
import { decodeJpeg } from '../runtime/preprocess.ts';
import { openScenes } from './scenes.ts';
import { Pixels } from './writers.ts';

/**
 * The window: 56 detect-stream pixels a side (the item within reach of a hand and up to 20 px
 * long fits whole) read at 2 main-stream pixels per detect-stream pixel, so a 6–14 px item is
 * 12–28 px to the model: 112 × 112 input pixels.
 */
export const HELD_ITEM_WINDOW = { sidePx: 56, scale: 2 } as const;

/**
 * Where training windows are centred, as shares: a labelled hand or item (jittered), a point on a
 * person, anywhere, or a proposal of the shipped detector. Measured with detect-stream windows
 * (15-minute runs, item AP on validation through both stages): 0.451 with windows on labels,
 * people and anywhere; 0.514 with the detector's proposals as 30 % of them.
 */
const MIX = { hand: 0.3, item: 0.2, person: 0.1, anywhere: 0.1, proposal: 0.3 } as const;
type Kind = keyof typeof MIX;
const KINDS = Object.keys(MIX) as Kind[];
/** σ of a proposal's centre error in detect-stream pixels, as the detector's boxes have. */
const JITTER_PX = 2;
const TRAIN_WINDOWS_PER_FRAME = 8;
const MIN_VISIBILITY = 0.3;
const CLASS = { person: 0, hand: 2, item: 3 } as const;
/** Outside the frame, as the manifest's padValue (the YOLO grey). */
const PAD = 114;

interface WindowRow {
  frame: number;
  x: number;
  y: number;
  kind: Kind;
  score: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      models: { type: 'string' },
      // A child's share of a split (see buildWindows): --split train --frames 0:2592 --part 0
      split: { type: 'string' },
      frames: { type: 'string' },
      part: { type: 'string' },
    },
  });
  const dataDir = resolve(values.data ?? 'models/.data');
  const modelsDir = values.models ? resolve(values.models) : undefined;
  if (values.split === undefined) return buildWindows(dataDir, modelsDir);
  const split = values.split === 'val' ? 'val' : 'train';
  const [from, to] = (values.frames ?? '').split(':').map(Number);
  if (!Number.isInteger(from) || !Number.isInteger(to) || !/^\d+$/.test(values.part ?? ''))
    throw new Error('windows.ts: --frames FROM:TO and --part N go with --split');
  await windowsPart(dataDir, modelsDir, split, from!, to!, Number(values.part));
}

const say = (line: string) => process.stderr.write(`[held-item windows] ${line}\n`);

/**
 * Both splits' windows. Drawing a window costs about 25 ms (its background is ray-cast), so the
 * frames are shared among child processes, one per core, each drawing a contiguous block (frames
 * of one run together, so its renderer is made once) into a part file; the parts are then joined
 * in order. Every frame's windows come from a random stream of its own, so the result does not
 * depend on the number of cores.
 */
export async function buildWindows(dataDir: string, modelsDir?: string): Promise<void> {
  const detector = findManifest('detector', modelsDir);
  if (!detector) say('no shipped detector: training windows without its proposals, validation on labels');
  const children = Math.max(1, Math.min(2, availableParallelism()));
  for (const split of ['train', 'val'] as const) {
    const count = openDetectorSplit(dataDir, split).labels.length;
    const dir = join(dataDir, 'detector', split, 'held-item');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const started = performance.now();
    const blocks = Array.from({ length: children }, (_, k) => [
      Math.floor((k * count) / children),
      Math.floor(((k + 1) * count) / children),
    ]);
    await Promise.all(
      blocks.map(([from, to], k) =>
        child([
          '--data',
          dataDir,
          ...(modelsDir ? ['--models', modelsDir] : []),
          '--split',
          split,
          '--frames',
          `${from}:${to}`,
          '--part',
          String(k),
        ]),
      ),
    );
    const rows = joinParts(dir, children);
    const record = {
      ...HELD_ITEM_WINDOW,
      inputPx: HELD_ITEM_WINDOW.sidePx * HELD_ITEM_WINDOW.scale,
      windows: rows.length,
      frames: count,
      kinds: Object.fromEntries(KINDS.map((k) => [k, rows.filter((r) => r.kind === k).length])),
      mix: split === 'train' ? MIX : { proposal: 1 },
      jitterPx: JITTER_PX,
      proposals: detector
        ? {
            detector: relative(process.cwd(), detector),
            sha256: readManifest(detector).sha256,
            minScore: HELD_ITEM_PROPOSALS.minScore,
            classes: HELD_ITEM_PROPOSALS.classes,
          }
        : null,
      seconds: Math.round((performance.now() - started) / 1000),
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(dir, 'windows.json'), `${JSON.stringify(record, null, 2)}\n`);
    say(`${split}: ${rows.length} windows of ${count} frames written to ${dir} in ${record.seconds} s`);
  }
}

function child(args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    p.on('error', fail);
    p.on('exit', (code) =>
      code === 0 ? done() : fail(new Error(`windows.ts ${args.join(' ')} exited with ${code}`)),
    );
  });
}

/** Joins the children's part files, in order, into windows.u8 and windows.jsonl. */
function joinParts(dir: string, parts: number): WindowRow[] {
  const rows: WindowRow[] = [];
  const out = openSync(join(dir, 'windows.u8'), 'w');
  try {
    for (let k = 0; k < parts; k++) {
      const u8 = join(dir, `part${k}.u8`);
      const fd = openSync(u8, 'r');
      const buf = Buffer.alloc(1 << 24);
      for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) writeSync(out, buf, 0, n);
      closeSync(fd);
      rmSync(u8);
      const jsonl = join(dir, `part${k}.jsonl`);
      for (const line of readFileSync(jsonl, 'utf8').split('\n')) if (line) rows.push(JSON.parse(line));
      rmSync(jsonl);
    }
  } finally {
    closeSync(out);
  }
  writeFileSync(join(dir, 'windows.jsonl'), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return rows;
}

async function windowsPart(
  dataDir: string,
  modelsDir: string | undefined,
  split: 'train' | 'val',
  from: number,
  to: number,
  part: number,
): Promise<void> {
  const manifest = findManifest('detector', modelsDir);
  const detector = manifest
    ? await loadDetector(manifest, { scoreThreshold: HELD_ITEM_PROPOSALS.minScore, workers: 1 })
    : null;
  const meta = readMeta(dataDir);
  const data = openDetectorSplit(dataDir, split, meta);
  const scenes = openScenes(dataDir, split, meta, data.origins);
  const dir = join(dataDir, 'detector', split, 'held-item');
  const pixels = new Pixels(dir, `part${part}.u8`);
  const rows: WindowRow[] = [];
  const { sidePx, scale } = HELD_ITEM_WINDOW;
  const started = performance.now();
  try {
    for (let i = from; i < to; i++) {
      const rng = Rng.stream(i, `models:held-item-windows:${split}`);
      const { image, boxes } = await data.sample(i);
      const proposals = detector
        ? heldItemProposals((await detector.detect(image)).detections).map(
            (d): Centre => ({
              cx: d.bbox.x + d.bbox.w / 2,
              cy: d.bbox.y + d.bbox.h / 2,
              score: d.score,
              kind: 'proposal',
            }),
          )
        : [];
      const centres =
        split === 'val'
          ? detector
            ? proposals
            : labelCentres(boxes, rng)
          : Array.from({ length: TRAIN_WINDOWS_PER_FRAME }, () =>
              trainingCentre(boxes, proposals, data, rng),
            );
      const source = scenes.mainStream(i);
      for (const c of centres) {
        const w = heldItemWindow(c.cx, c.cy, sidePx, scale, data);
        const read = w.inFrame ? await source.region(w.inFrame, scale) : null;
        pixels.append(padWindow(read instanceof Uint8Array ? await decodeJpeg(read) : read, w, PAD));
        rows.push({ frame: i, x: w.window.x, y: w.window.y, kind: c.kind, score: round(c.score) });
      }
      const done = i + 1 - from;
      if (done % 200 === 0 || i + 1 === to) {
        const s = (performance.now() - started) / 1000;
        say(
          `${split} part ${part}: ${done}/${to - from} frames, ${rows.length} windows, ${s.toFixed(0)} s, ~${((s / done) * (to - from - done)).toFixed(0)} s left`,
        );
      }
    }
  } finally {
    pixels.close();
    await data.close();
    await detector?.close();
  }
  writeFileSync(join(dir, `part${part}.jsonl`), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

interface Centre {
  cx: number;
  cy: number;
  score: number;
  kind: Kind;
}

const usable = (b: GtBox, cls: number) =>
  b.classIndex === cls && b.visibility >= MIN_VISIBILITY && b.w >= 3 && b.h >= 3;

function jittered(b: GtBox, rng: Rng, kind: Kind): Centre {
  const j = () => Math.max(-3 * JITTER_PX, Math.min(3 * JITTER_PX, rng.gaussian(0, JITTER_PX)));
  return { cx: b.x + b.w / 2 + j(), cy: b.y + b.h / 2 + j(), score: 1, kind };
}

/** Validation without a detector: every labelled hand and item, jittered (an upper bound). */
function labelCentres(boxes: readonly GtBox[], rng: Rng): Centre[] {
  return boxes
    .filter((b) => usable(b, CLASS.hand) || usable(b, CLASS.item))
    .map((b) => jittered(b, rng, b.classIndex === CLASS.hand ? 'hand' : 'item'));
}

function trainingCentre(
  boxes: readonly GtBox[],
  proposals: readonly Centre[],
  frame: Pick<DetectorSplit, 'width' | 'height'>,
  rng: Rng,
): Centre {
  const kind = pickKind(rng.next());
  if (kind === 'proposal' && proposals.length > 0) return rng.pick(proposals);
  if (kind === 'hand' || kind === 'item' || kind === 'person') {
    const cand = boxes.filter((b) => usable(b, CLASS[kind]));
    if (cand.length > 0) {
      const b = rng.pick(cand);
      if (kind !== 'person') return jittered(b, rng, kind);
      return { cx: b.x + rng.next() * b.w, cy: b.y + rng.next() * b.h, score: 1, kind };
    }
  }
  return { cx: rng.next() * frame.width, cy: rng.next() * frame.height, score: 1, kind: 'anywhere' };
}

/** The kind whose share of MIX the uniform draw u falls in. */
function pickKind(u: number): Kind {
  let rest = u;
  for (const k of KINDS) {
    rest -= MIX[k];
    if (rest < 0) return k;
  }
  return 'anywhere';
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) await main();
