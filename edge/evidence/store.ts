/**
 * Evidence on disk, under the edge's state directory, bucketed by the wall-clock hour it was
 * written so the retention sweep deletes whole buckets:
 *
 *   {root}/{YYYY-MM-DDTHH}/{eventId}/record.json
 *   {root}/{YYYY-MM-DDTHH}/{eventId}/{cameraId}/{frameIndex}.jpg
 *   {root}/{YYYY-MM-DDTHH}/bytes          one line per write: what it put on disk
 *
 * A record is written last (and renamed into place), so an event whose record is there has all its
 * frames. Ids are checked against the forms the edge gives before they touch a path.
 */
import { appendFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WalkoutError } from '../../proto/errors.ts';
import type { ResolveTrace } from '../fusion/outputs.ts';
import type { CameraFrame, WeightEvent, WeightHypothesis } from '../types.ts';

/** A weight event's id as the weight stage gives it: `${shelfId}@${startMs}`. */
const EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}@\d{1,16}$/;
const CAMERA_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const BUCKET = /^\d{4}-\d{2}-\d{2}T\d{2}$/;
const HOUR_MS = 3_600_000;

/** One resolution of the event (one per plate when a shelf event was split between shoppers). */
export type Resolution = Omit<ResolveTrace, 'event' | 'hypotheses'>;

export interface EvidenceRecord {
  eventId: string;
  event: WeightEvent;
  /** Every reading the weight stage considered, best first. */
  hypotheses: WeightHypothesis[];
  resolutions: Resolution[];
  /** The frames' time window (store ms) and the cameras they were taken from. */
  window: { fromMs: number; toMs: number };
  cameras: string[];
  frames: { cameraId: string; frameIndex: number; captureMs: number; bytes: number }[];
  /** Wall-clock ms the evidence was written: retention counts from here. */
  keptMs: number;
}

export function checkEventId(eventId: string): string {
  if (!EVENT_ID.test(eventId))
    throw new WalkoutError('EVIDENCE_ID_INVALID', `not a weight event id: ${JSON.stringify(eventId)}`, {
      eventId,
    });
  return eventId;
}

export class EvidenceStore {
  constructor(readonly root: string) {}

  /** Writes an event's frames, then its record; a second write of the same event replaces it. */
  async write(record: EvidenceRecord, frames: readonly CameraFrame[]): Promise<void> {
    checkEventId(record.eventId);
    const dir = join(this.root, bucketOf(record.keptMs), record.eventId);
    for (const cameraId of new Set(frames.map((f) => f.cameraId))) {
      checkCamera(cameraId);
      await mkdir(join(dir, cameraId), { recursive: true });
    }
    await mkdir(dir, { recursive: true });
    for (const f of frames) await writeFile(join(dir, f.cameraId, `${f.frameIndex}.jpg`), f.jpeg);
    const tmp = join(dir, 'record.json.tmp');
    const json = JSON.stringify(record);
    await writeFile(tmp, json);
    await rename(tmp, join(dir, 'record.json'));
    // The bucket's size without walking its files: the cap's sweep reads one line per event.
    const bytes = frames.reduce((a, f) => a + f.jpeg.length, Buffer.byteLength(json));
    await appendFile(join(this.root, bucketOf(record.keptMs), 'bytes'), `${bytes}\n`);
  }

  /** The event's record, or null when none is kept. */
  async read(eventId: string): Promise<EvidenceRecord | null> {
    const dir = await this.find(checkEventId(eventId));
    if (!dir) return null;
    return JSON.parse(await readFile(join(dir, 'record.json'), 'utf8')) as EvidenceRecord;
  }

  /** One kept frame's JPEG, or null. */
  async frame(eventId: string, cameraId: string, frameIndex: number): Promise<Buffer | null> {
    checkEventId(eventId);
    checkCamera(cameraId);
    if (!Number.isSafeInteger(frameIndex) || frameIndex < 0)
      throw new WalkoutError('EVIDENCE_ID_INVALID', `not a frame number: ${frameIndex}`);
    const dir = await this.find(eventId);
    if (!dir) return null;
    return readFile(join(dir, cameraId, `${frameIndex}.jpg`)).catch(() => null);
  }

  /**
   * Deletes every hour bucket whose last moment is `retentionDays` old at `nowMs`: evidence is kept
   * at least the retention and at most an hour longer. Returns the events deleted.
   */
  async sweep(nowMs: number, retentionDays: number): Promise<number> {
    let deleted = 0;
    for (const bucket of await this.buckets()) {
      const endMs = Date.parse(`${bucket}:00:00Z`) + HOUR_MS;
      if (endMs + retentionDays * 24 * HOUR_MS > nowMs) continue;
      deleted += await this.drop(bucket);
    }
    return deleted;
  }

  /**
   * Deletes the oldest hour buckets, but never the newest, until what is kept is at most
   * `maxBytes`: a store busier than its disk was sized for loses its oldest evidence first, not
   * the edge its state directory. Returns the events deleted.
   */
  async cap(maxBytes: number): Promise<number> {
    const buckets = await this.buckets();
    const sizes = await Promise.all(buckets.map((b) => this.bytes(b)));
    let total = sizes.reduce((a, b) => a + b, 0);
    let deleted = 0;
    for (let i = buckets.length - 1; i > 0 && total > maxBytes; i--) {
      deleted += await this.drop(buckets[i]!);
      total -= sizes[i]!;
    }
    return deleted;
  }

  /** Bytes a bucket's writes put on disk (their frames and records). */
  private async bytes(bucket: string): Promise<number> {
    const text = await readFile(join(this.root, bucket, 'bytes'), 'utf8').catch(() => '');
    return text.split('\n').reduce((a, l) => a + (Number(l) || 0), 0);
  }

  private async drop(bucket: string): Promise<number> {
    const dir = join(this.root, bucket);
    const events = (await readdir(dir).catch(() => [] as string[])).filter((n) => n !== 'bytes').length;
    await rm(dir, { recursive: true, force: true });
    return events;
  }

  /** Newest bucket first: a review usually asks about recent events. */
  private async buckets(): Promise<string[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    return names.filter((n) => BUCKET.test(n)).sort((a, b) => b.localeCompare(a));
  }

  private async find(eventId: string): Promise<string | null> {
    for (const bucket of await this.buckets()) {
      const dir = join(this.root, bucket, eventId);
      const ok = await stat(join(dir, 'record.json')).then(
        () => true,
        () => false,
      );
      if (ok) return dir;
    }
    return null;
  }
}

function checkCamera(cameraId: string): void {
  if (!CAMERA_ID.test(cameraId))
    throw new WalkoutError('EVIDENCE_ID_INVALID', `not a camera id: ${JSON.stringify(cameraId)}`, {
      cameraId,
    });
}

/** The UTC hour a wall-clock time falls in, as a bucket name. */
export function bucketOf(wallMs: number): string {
  return new Date(wallMs).toISOString().slice(0, 13);
}
