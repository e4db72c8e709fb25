import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog, loadLayout } from '../../proto/index.ts';
import type { ResolveTrace } from '../fusion/outputs.ts';
import { recordingLogger } from '../io/test-log.ts';
import type { CameraFrame, WeightEvent } from '../types.ts';
import { EvidenceConfig } from './config.ts';
import { EvidenceRecorder } from './recorder.ts';
import { FrameRing } from './ring.ts';
import { buildEvidenceServer } from './server.ts';
import { EvidenceStore } from './store.ts';

const ref = new URL('../../proto/stores/reference/', import.meta.url).pathname;
const layout = loadLayout(join(ref, 'layout.json'), loadCatalog(join(ref, 'catalog.json')));
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'walkout-evidence-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const T0 = 1_767_603_600_000;
const DAY_MS = 86_400_000;
const plate = layout.plates[0]!;

const frame = (cameraId: string, frameIndex: number, captureMs: number, bytes = 100): CameraFrame => ({
  cameraId,
  frameIndex,
  captureMs,
  jpeg: new Uint8Array(bytes).fill(frameIndex % 256),
});

const event = (startMs: number): WeightEvent => ({
  eventId: `${plate.shelfId}@${startMs}`,
  shelfId: plate.shelfId,
  plates: [{ plateId: plate.id, deltaG: -350 }],
  deltaG: -350,
  startMs,
  settledMs: startMs + 1500,
  positionM: plate.centerM,
});

const trace = (e: WeightEvent, memberNo: number): ResolveTrace => ({
  event: e,
  hypotheses: [
    { lines: [{ sku: 'SKU-1', plateId: plate.id, quantity: 1 }], probability: 0.9, logLikelihood: -1 },
  ],
  sightings: [],
  tracks: [],
  attribution: { candidates: [], confidence: 0.7, method: 'hand' },
  member: { visitId: 'v1', memberNo },
  lines: [{ sku: 'SKU-1', quantity: 1 }],
  doubt: null,
  confidence: 0.63,
  review: false,
});

/** Every camera at 5 frames a second from `fromMs` to `toMs`. */
function feed(r: EvidenceRecorder, fromMs: number, toMs: number): void {
  for (let t = fromMs; t <= toMs; t += 200)
    for (const c of layout.cameras) r.onFrame(frame(c.id, (t - T0) / 200, t));
}

describe('frame ring', () => {
  it('holds at most its count and its bytes, oldest out first', () => {
    const ring = new FrameRing(3, 250);
    for (let i = 0; i < 5; i++) ring.push(frame('c', i, i * 100));
    expect(ring.size).toEqual({ frames: 2, bytes: 200 });
    expect(ring.between(0, 1000).map((f) => f.frameIndex)).toEqual([3, 4]);
    const wide = new FrameRing(3, 10_000);
    for (let i = 0; i < 5; i++) wide.push(frame('c', i, i * 100));
    expect(wide.between(0, 1000).map((f) => f.frameIndex)).toEqual([2, 3, 4]);
  });
});

describe('evidence recorder', () => {
  it('keeps the record and the frames of the cameras that see the shelf, over the window', async () => {
    const store = new EvidenceStore(tempDir());
    const config = EvidenceConfig.parse({});
    const r = new EvidenceRecorder({ layout, store, config, wallMs: () => T0, log: recordingLogger() });
    const e = event(T0 + 5000);
    feed(r, T0, e.settledMs + 200);
    // Two resolutions of one event (split by plate) make one record.
    r.onResolve(trace(e, 0));
    r.onResolve(trace(e, 1));
    expect(await store.read(e.eventId)).toBeNull();
    feed(r, e.settledMs + 400, e.settledMs + 1200); // past the window's end on every camera
    await r.flush();
    expect(r.stats()).toEqual({ written: 1, failed: 0, pending: 0 });
    const record = await store.read(e.eventId);
    expect(record).not.toBeNull();
    expect(record!.resolutions.map((x) => x.member?.memberNo)).toEqual([0, 1]);
    expect(record!.hypotheses[0]!.probability).toBe(0.9);
    expect(record!.window).toEqual({ fromMs: e.startMs - 2000, toMs: e.settledMs + 1000 });
    // Cameras that see the plate, not all of them (the reference store has 8 overhead cameras).
    expect(record!.cameras.length).toBeGreaterThan(0);
    expect(record!.cameras.length).toBeLessThan(layout.cameras.length);
    const perCamera = Math.floor((e.settledMs + 1000 - (e.startMs - 2000)) / 200) + 1;
    expect(record!.frames).toHaveLength(record!.cameras.length * perCamera);
    for (const f of record!.frames) {
      expect(record!.cameras).toContain(f.cameraId);
      expect(f.captureMs).toBeGreaterThanOrEqual(record!.window.fromMs);
      expect(f.captureMs).toBeLessThanOrEqual(record!.window.toMs);
    }
    const first = record!.frames[0]!;
    const jpeg = await store.frame(e.eventId, first.cameraId, first.frameIndex);
    expect(jpeg?.[0]).toBe(first.frameIndex % 256);
  });

  it('does not wait past its grace for a camera that went silent', async () => {
    const store = new EvidenceStore(tempDir());
    const config = EvidenceConfig.parse({ cameraGraceMs: 1000 });
    const r = new EvidenceRecorder({ layout, store, config, wallMs: () => T0, log: recordingLogger() });
    const e = event(T0 + 5000);
    feed(r, T0, e.settledMs);
    r.onResolve(trace(e, 0));
    const seeing = (await (async () => {
      await r.flush();
      return store.read(e.eventId);
    })())!.cameras;
    // A second event: the cameras that see it stop; the others run on past the window and grace.
    const e2 = event(T0 + 20_000);
    feed(r, e.settledMs + 200, e2.settledMs);
    r.onResolve(trace(e2, 0));
    for (let t = e2.settledMs + 200; t <= e2.settledMs + 1800; t += 200)
      for (const c of layout.cameras) if (!seeing.includes(c.id)) r.onFrame(frame(c.id, t / 200, t));
    expect(r.stats().pending).toBe(1);
    for (let t = e2.settledMs + 2000; t <= e2.settledMs + 2400; t += 200)
      for (const c of layout.cameras) if (!seeing.includes(c.id)) r.onFrame(frame(c.id, t / 200, t));
    await r.flush();
    expect(r.stats()).toMatchObject({ written: 2, pending: 0 });
  });
});

describe('evidence store', () => {
  it('deletes evidence once the retention is over, and not before', async () => {
    const root = tempDir();
    const store = new EvidenceStore(root);
    const e = event(T0);
    const base = { event: e, eventId: e.eventId, hypotheses: [], resolutions: [], cameras: [] };
    await store.write({ ...base, window: { fromMs: 0, toMs: 0 }, frames: [], keptMs: T0 }, []);
    expect(await store.sweep(T0 + 30 * DAY_MS - 1, 30)).toBe(0);
    expect(await store.read(e.eventId)).not.toBeNull();
    expect(await store.sweep(T0 + 30 * DAY_MS + 3_600_000, 30)).toBe(1);
    expect(await store.read(e.eventId)).toBeNull();
    expect(readdirSync(root)).toEqual([]);
  });

  it('deletes the oldest hours first once over its disk cap, never the newest hour', async () => {
    const root = tempDir();
    const store = new EvidenceStore(root);
    for (const h of [0, 1, 2]) {
      const e = event(T0 + h * 3_600_000);
      const base = { event: e, eventId: e.eventId, hypotheses: [], resolutions: [], cameras: ['cam-11'] };
      const f = frame('cam-11', 1, e.startMs, 10_000);
      await store.write({ ...base, window: { fromMs: 0, toMs: 0 }, frames: [], keptMs: e.startMs }, [
        f as never,
      ]);
    }
    expect(await store.cap(100_000)).toBe(0);
    expect(readdirSync(root)).toHaveLength(3);
    // Room for about two hours: the oldest goes.
    expect(await store.cap(25_000)).toBe(1);
    expect(await store.read(event(T0).eventId)).toBeNull();
    expect(await store.read(event(T0 + 3_600_000).eventId)).not.toBeNull();
    // Never the hour being written, however small the cap.
    expect(await store.cap(1)).toBe(1);
    expect(readdirSync(root)).toHaveLength(1);
    expect(await store.read(event(T0 + 7_200_000).eventId)).not.toBeNull();
  });
});

describe('evidence over HTTP', () => {
  it('serves the record with frame URLs, the frames, and refuses unknown or malformed ids', async () => {
    const store = new EvidenceStore(tempDir());
    const config = EvidenceConfig.parse({});
    const r = new EvidenceRecorder({ layout, store, config, wallMs: () => T0, log: recordingLogger() });
    const e = event(T0 + 5000);
    feed(r, T0, e.settledMs);
    r.onResolve(trace(e, 0));
    feed(r, e.settledMs + 200, e.settledMs + 1400);
    await r.flush();
    const app = buildEvidenceServer(store, recordingLogger());
    try {
      const res = await app.inject({ method: 'GET', url: `/evidence/${encodeURIComponent(e.eventId)}` });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { eventId: string; frames: { url: string; frameIndex: number }[] };
      expect(body.eventId).toBe(e.eventId);
      expect(body.frames.length).toBeGreaterThan(0);
      const f = body.frames[3]!;
      const img = await app.inject({ method: 'GET', url: f.url });
      expect(img.statusCode).toBe(200);
      expect(img.headers['content-type']).toBe('image/jpeg');
      expect(img.rawPayload[0]).toBe(f.frameIndex % 256);
      // The raw '@' works as well as its escape.
      expect((await app.inject({ method: 'GET', url: `/evidence/${e.eventId}` })).statusCode).toBe(200);

      const code = async (url: string) => {
        const x = await app.inject({ method: 'GET', url });
        return [x.statusCode, (x.json() as { error: { code: string } }).error.code];
      };
      expect(await code(`/evidence/${plate.shelfId}@1`)).toEqual([404, 'EVIDENCE_UNKNOWN']);
      expect(await code(`/evidence/..%2F..%2Fetc`)).toEqual([400, 'EVIDENCE_ID_INVALID']);
      expect(await code(`/evidence/${e.eventId}/frames/..%2Fx/1.jpg`)).toEqual([400, 'EVIDENCE_ID_INVALID']);
      expect(await code(`/evidence/${e.eventId}/frames/cam-11/x.jpg`)).toEqual([400, 'EVIDENCE_ID_INVALID']);
      expect(await code(`/evidence/${e.eventId}/frames/cam-nope/1.jpg`)).toEqual([404, 'EVIDENCE_UNKNOWN']);
      expect(await code('/elsewhere')).toEqual([404, 'NOT_FOUND']);
    } finally {
      await app.close();
    }
  });
});
