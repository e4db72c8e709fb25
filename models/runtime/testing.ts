import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { expect } from 'vitest';
import type { z } from 'zod';
import { type ErrorCode, isWalkoutError } from '../../proto/index.ts';
import { findManifest, readManifest } from './load.ts';
import type { Manifest } from './manifest.ts';
import { iou } from './nms.ts';
import type { Task } from './types.ts';

/**
 * Test helpers: the shipped models (or WALKOUT_MODELS_DIR, to test other models such as
 * development ones), damaged copies of them, and a frame to run them on.
 */

const dir = process.env.WALKOUT_MODELS_DIR;

export function shipped(task: Task): { path: string | null; skip: string } {
  const path = findManifest(task, dir);
  const where = dir ?? 'models';
  return {
    path,
    skip: path
      ? ''
      : ` (skipped: no ${task} manifest under ${where}/ yet — the trained model is not committed)`,
  };
}

/**
 * A copy of a model in a temp folder, its manifest edited and its bytes changed; the manifest's
 * sha256 is recomputed for the new bytes unless `keepSha`.
 */
export function damagedCopy(
  manifestPath: string,
  change: {
    manifest?: (m: z.input<typeof Manifest>) => void;
    bytes?: (b: Buffer) => Buffer;
    keepSha?: boolean;
  } = {},
): string {
  const m = readManifest(manifestPath);
  const tmp = mkdtempSync(join(tmpdir(), 'walkout-model-'));
  const json = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const file = join(tmp, basename(m.file));
  if (change.bytes) {
    const bytes = change.bytes(readFileSync(m.modelPath));
    writeFileSync(file, bytes);
    if (!change.keepSha) json.sha256 = sha256(bytes);
  } else copyFileSync(m.modelPath, file);
  json.file = basename(m.file);
  change.manifest?.(json);
  const out = join(tmp, 'manifest.json');
  writeFileSync(out, JSON.stringify(json, null, 2));
  return out;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Asserts a rejection with this WalkoutError code and a message matching every pattern. */
export async function expectRefusal(
  p: Promise<unknown>,
  code: ErrorCode,
  ...patterns: RegExp[]
): Promise<Error> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(Error);
  expect(isWalkoutError(err) ? err.code : String(err)).toBe(code);
  for (const re of patterns) expect((err as Error).message).toMatch(re);
  return err as Error;
}

/** The drawn heads with no head detection over them (IoU 0.5): empty when every head is found. */
export function headsMissed(
  detections: readonly { cls: string; bbox: { x: number; y: number; w: number; h: number } }[],
  heads: readonly { x: number; y: number; w: number; h: number }[],
): string[] {
  return heads
    .filter((h) => !detections.some((d) => d.cls === 'head' && iou(d.bbox, h) >= 0.5))
    .map((h) => `head at ${Math.round(h.x)},${Math.round(h.y)}`);
}

/**
 * A 640×480 stand-in for a camera frame, drawn here because models/runtime may not import the
 * simulator: a floor with noise and a few figures (a body with a head), as JPEG and raw RGB.
 */
export async function syntheticFrame(): Promise<{
  jpeg: Buffer;
  raw: { rgb: Uint8Array; width: number; height: number };
  people: { x: number; y: number; w: number; h: number }[];
  /** Each figure's head, as drawn: the shipped detector finds all four. */
  heads: { x: number; y: number; w: number; h: number }[];
}> {
  const width = 640;
  const height = 480;
  const rgb = new Uint8Array(width * height * 3);
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < width * height; i++) {
    const n = Math.floor(rand() * 12);
    rgb.set([150 + n, 145 + n, 135 + n], i * 3);
  }
  const fill = (
    x0: number,
    y0: number,
    w: number,
    h: number,
    c: [number, number, number],
    round: boolean,
  ) => {
    for (let y = y0; y < y0 + h; y++)
      for (let x = x0; x < x0 + w; x++) {
        const dx = (x - x0 - w / 2) / (w / 2);
        const dy = (y - y0 - h / 2) / (h / 2);
        if (!round || dx * dx + dy * dy <= 1) rgb.set(c, (y * width + x) * 3);
      }
  };
  const people = [
    { x: 60, y: 80, w: 70, h: 110 },
    { x: 250, y: 200, w: 80, h: 120 },
    { x: 450, y: 60, w: 60, h: 100 },
    { x: 500, y: 300, w: 75, h: 115 },
  ];
  const colours: [number, number, number][] = [
    [40, 80, 190],
    [190, 40, 40],
    [30, 140, 60],
    [200, 170, 40],
  ];
  const heads = people.map((p) => ({ x: p.x + p.w * 0.3, y: p.y, w: p.w * 0.4, h: p.h * 0.35 }));
  people.forEach((p, i) => {
    fill(p.x, p.y + p.h * 0.3, p.w, p.h * 0.7, colours[i]!, true);
    const h = heads[i]!;
    fill(h.x, h.y, h.w, h.h, [60, 40, 30], true);
  });
  const raw = { rgb, width, height };
  const jpeg = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
  return { jpeg, raw, people, heads };
}
