import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cameraPaths,
  HEADER_CAPTURE_TIME,
  HEADER_FRAME_INDEX,
  type MjpegFrame,
  MjpegReader,
  type RegionRequest,
  regionSearch,
} from '../../proto/index.ts';
import { hexToRgb } from '../render/colour.ts';
import { createRenderer } from '../render/renderer.ts';
import { loadReferenceStore, standingPerson } from '../render/test-persons.ts';
import type { Label } from '../render/types.ts';
import { Engine } from '../run/engine.ts';
import { loadScenario } from '../scenario/load.ts';
import type { Person } from '../world/types.ts';
import { type CameraServer, createCameraServer, type RegionSource } from './camera-server.ts';
import { createLiveFrames, KEEP_MS, type LiveFrames } from './frame-sinks.ts';
import { createOfflineApp } from './offline-app.ts';

const { layout, catalog } = loadReferenceStore();
const HAIR = '#e8c040';
const person = standingPerson('P1', [4.5, 2.3], {
  headingRad: Math.PI / 2,
  appearance: { hairColour: HAIR, topColour: '#2050c0' },
});
// ffmpeg is the real-world client; the services script installs it. Without it that one test is skipped.
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

let server: CameraServer;
let base: string;
let rendered: { rgb: Uint8Array; width: number; height: number; head: Label; jpeg: Buffer };

beforeAll(async () => {
  const renderer = createRenderer({ layout, catalog, seed: 3 });
  const frame = renderer.render('cam-12', [person], 1_700_000_000_000, 1);
  const head = frame.labels.labels.find((l) => l.kind === 'head' && l.personId === 'P1');
  if (!head) throw new Error('test person has no head label');
  // encodeJpeg recycles the buffer: keep a copy of the pixels.
  const rgb = frame.rgb.slice();
  rendered = {
    rgb,
    width: frame.width,
    height: frame.height,
    head,
    jpeg: await renderer.encodeJpeg(frame.rgb, frame.width, frame.height),
  };
  server = createCameraServer({ layout });
  base = await server.listen(0);
});

afterAll(async () => {
  await server.close();
});

function frame(frameIndex: number, jpeg = rendered.jpeg): MjpegFrame {
  return { jpeg, captureTsMs: 1_700_000_000_000 + frameIndex * 100, frameIndex };
}

function request(path: string, from = base): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(`${from}${path}`, resolve).on('error', reject));
}

async function body(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The frame as delivered, decoded: equal to what was rendered (to JPEG precision), hair where the head is. */
async function expectRenderedFrame(decoded: Uint8Array): Promise<void> {
  const { rgb, width, head } = rendered;
  expect(decoded.length).toBe(rgb.length);
  let sum = 0;
  for (let i = 0; i < rgb.length; i++) sum += Math.abs(decoded[i]! - rgb[i]!);
  // JPEG at quality 80 over shelves of tiny packs, and decoders differ in chroma upsampling.
  expect(sum / rgb.length).toBeLessThan(6);
  const hair = hexToRgb(HAIR);
  let near = 0;
  const { x, y, w, h } = head.bbox;
  for (let v = y; v < y + h; v++) {
    for (let u = x; u < x + w; u++) {
      const i = (v * width + u) * 3;
      if (
        Math.abs(decoded[i]! - hair[0]) +
          Math.abs(decoded[i + 1]! - hair[1]) +
          Math.abs(decoded[i + 2]! - hair[2]) <
        90
      )
        near++;
    }
  }
  expect(near / (w * h)).toBeGreaterThan(0.25);
}

async function decodeRaw(image: Buffer): Promise<Uint8Array> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([rendered.width, rendered.height]);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

describe('MJPEG camera server', () => {
  it('lists the cameras with their stream and snapshot URLs', async () => {
    const res = await request(cameraPaths.index());
    expect(res.statusCode).toBe(200);
    const list = JSON.parse((await body(res)).toString()) as {
      id: string;
      fps: number;
      resolution: object;
      streamUrl: string;
      snapshotUrl: string;
      regionUrl: string;
    }[];
    expect(list.map((c) => c.id)).toEqual(layout.cameras.map((c) => c.id));
    const own = server.cameraUrls('cam-11');
    expect(list[0]).toMatchObject({ fps: 10, resolution: { width: 640, height: 480 }, ...own });
    expect(own.streamUrl).toMatch(/\/cameras\/cam-11\/stream\.mjpeg$/);
    expect(own.snapshotUrl).toMatch(/\/cameras\/cam-11\/snapshot\.jpg$/);
    expect(own.regionUrl).toMatch(/\/cameras\/cam-11\/region\.jpg$/);
  });

  it('gives every camera a port of its own, since browsers open at most six streams per host and port', async () => {
    const ports = layout.cameras.map((c) => new URL(server.cameraUrls(c.id).streamUrl).port);
    expect(new Set([...ports, new URL(base).port]).size).toBe(layout.cameras.length + 1);
    server.publish('cam-14', frame(5));
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      get(server.cameraUrls('cam-14').snapshotUrl, resolve).on('error', reject),
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-frame-index']).toBe('5');
    res.resume();
  });

  it('answers 404 with a JSON error for an unknown camera', async () => {
    for (const path of [cameraPaths.stream('cam-99'), cameraPaths.snapshot('cam-99')]) {
      const res = await request(path);
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(JSON.parse((await body(res)).toString())).toMatchObject({ error: { code: 'CAMERA_UNKNOWN' } });
    }
  });

  it('streams frames with their capture time and index to a node client', async () => {
    const res = await request(cameraPaths.stream('cam-12'));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('multipart/x-mixed-replace; boundary=walkoutframe');
    const reader = new MjpegReader();
    const got: MjpegFrame[] = [];
    res.on('data', (chunk: Buffer) => got.push(...reader.push(chunk)));
    await until(() => server.clientCount('cam-12') >= 1);
    for (let i = 1; i <= 3; i++) {
      server.publish('cam-12', frame(i));
      await until(() => got.length >= i);
    }
    res.destroy();
    expect(got.map((f) => f.frameIndex)).toEqual([1, 2, 3]);
    expect(got.map((f) => f.captureTsMs)).toEqual([1_700_000_000_100, 1_700_000_000_200, 1_700_000_000_300]);
    expect(got[0]!.jpeg.equals(rendered.jpeg)).toBe(true);
    await expectRenderedFrame(await decodeRaw(got[2]!.jpeg));
    await until(() => server.clientCount('cam-12') === 0);
  });

  it('serves the latest frame as a snapshot with its headers', async () => {
    server.publish('cam-13', frame(41));
    server.publish('cam-13', frame(42));
    const res = await request(cameraPaths.snapshot('cam-13'));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.headers[HEADER_CAPTURE_TIME]).toBe(String(1_700_000_004_200));
    expect(res.headers[HEADER_FRAME_INDEX]).toBe('42');
    expect((await body(res)).equals(rendered.jpeg)).toBe(true);
    const none = await request(cameraPaths.snapshot('cam-24'));
    expect(none.statusCode).toBe(503);
    await body(none);
  });

  // In CI the services script installs ffmpeg, so there a missing ffmpeg fails instead of skipping.
  it.skipIf(!hasFfmpeg && !process.env.CI)(
    'streams to ffmpeg, which decodes the rendered frame',
    async () => {
      // Keep publishing while ffmpeg connects and probes the stream.
      let n = 100;
      const timer = setInterval(() => server.publish('cam-14', frame(n++)), 50);
      try {
        const png = await new Promise<Buffer>((resolve, reject) => {
          const ff = spawn('ffmpeg', [
            '-loglevel',
            'error',
            '-f',
            'mjpeg',
            '-i',
            `${base}${cameraPaths.stream('cam-14')}`,
            '-frames:v',
            '1',
            '-f',
            'image2pipe',
            '-vcodec',
            'png',
            '-',
          ]);
          const out: Buffer[] = [];
          const err: Buffer[] = [];
          ff.stdout.on('data', (c: Buffer) => out.push(c));
          ff.stderr.on('data', (c: Buffer) => err.push(c));
          ff.on('error', reject);
          ff.on('close', (code) =>
            code === 0
              ? resolve(Buffer.concat(out))
              : reject(new Error(`ffmpeg ${code}: ${Buffer.concat(err)}`)),
          );
        });
        await expectRenderedFrame(await decodeRaw(png));
      } finally {
        clearInterval(timer);
      }
    },
  );

  it('skips frames for a client that stops reading instead of buffering them', async () => {
    // A frame of noise, so it is large (about 0.5 MB): the socket buffers fill after a few.
    const noise = Buffer.alloc(640 * 480 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const big = await sharp(noise, { raw: { width: 640, height: 480, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const paused = await request(cameraPaths.stream('cam-21'));
    paused.pause();
    const live = await request(cameraPaths.stream('cam-21'));
    const reader = new MjpegReader();
    let liveFrames = 0;
    live.on('data', (chunk: Buffer) => {
      liveFrames += reader.push(chunk).length;
    });
    await until(() => server.clientCount('cam-21') === 2);
    const published = 120;
    let maxBuffered = 0;
    for (let i = 1; i <= published; i++) {
      server.publish('cam-21', frame(i, big));
      for (const c of server.clients()) maxBuffered = Math.max(maxBuffered, c.bufferedBytes);
      await new Promise((r) => setTimeout(r, 2));
    }
    await until(() => liveFrames >= published * 0.9, 10_000);
    const stats = server.clients().filter((c) => c.cameraId === 'cam-21');
    const slow = stats.reduce((a, b) => (a.framesSkipped >= b.framesSkipped ? a : b));
    expect(slow.framesSkipped).toBeGreaterThan(published / 2);
    expect(slow.framesSent + slow.framesSkipped).toBe(published);
    // Never more than one frame queued in the process for anyone.
    expect(maxBuffered).toBeLessThanOrEqual(big.length + 1024);
    paused.destroy();
    live.destroy();
  });

  it('ends open streams on close', async () => {
    const s = createCameraServer({ layout });
    const url = await s.listen(0);
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`${url}${cameraPaths.stream('cam-11')}`, resolve).on('error', reject),
    );
    await until(() => s.clientCount() === 1);
    const ended = new Promise<void>((resolve) => res.on('close', () => resolve()));
    res.resume();
    await s.close();
    await ended;
    expect(s.clientCount()).toBe(0);
  });
});

describe('main-stream regions (region.jpg)', () => {
  const T0 = 1_700_000_000_000;
  const loaded = loadScenario('baseline');
  const app = createOfflineApp(loaded.layout.storeId, 'regions');
  const engine = new Engine({
    ...loaded,
    seed: 3,
    app,
    authority: { kind: 'local', verify: app.verify },
    minutes: 1,
  });
  const COLA = '#c0392b';
  // cam-12 hangs at (4.5, 2.4, 3): the shopper stands under it, a can of cola in the left hand.
  const shopper = (posM: [number, number]): Person =>
    standingPerson('P1', posM, {
      headingRad: Math.PI / 2,
      holding: [[{ itemId: 'i1', sku: 'cola-330', weightG: 350 }], []],
    });
  let s: CameraServer;
  let sBase: string;
  let frames: LiveFrames;
  /** The one array the "world" keeps; its person is changed in place between frames, as the world does. */
  const persons: Person[] = [shopper([4.5, 2.2])];
  let region: RegionRequest;
  const deliver = (frameIndex: number) =>
    frames.deliver([{ cameraId: 'cam-12', frameIndex, tsMs: T0 + frameIndex * 100 }], persons);

  beforeAll(async () => {
    let regions: RegionSource | null = null;
    s = createCameraServer({
      layout,
      regions: { render: (...args) => regions!.render(...args) },
    });
    sBase = await s.listen(0);
    frames = createLiveFrames({ engine, server: s, out: mkdtempSync(join(tmpdir(), 'walkout-regions-')) });
    regions = frames.regions;
    // Where the detect stream shows the can in frame 1: the labels of the same render.
    const labeller = createRenderer({ layout, catalog, seed: 3 });
    const labels = labeller.render('cam-12', persons, T0 + 100, 1).labels.labels;
    const can = labels.find((l) => l.kind === 'item' && l.personId === 'P1');
    if (!can) throw new Error('cam-12 does not see the can');
    // The classifier's crop policy (models/runtime/crops.ts): a square 2.5 × the item, 16–40 px, read 64 px wide.
    const side = Math.min(40, Math.max(16, 2.5 * Math.max(can.bbox.w, can.bbox.h)));
    region = {
      x: can.bbox.x + can.bbox.w / 2 - side / 2,
      y: can.bbox.y + can.bbox.h / 2 - side / 2,
      w: side,
      h: side,
      scale: 64 / side,
    };
    await deliver(1);
    // The shopper walks off to the far end of the store before frame 2.
    Object.assign(persons[0]!, shopper([10.5, 7.5]));
    await deliver(2);
  });

  afterAll(async () => {
    await frames.close();
    await s.close();
  });

  async function regionOf(query: string, cameraId = 'cam-12', from = sBase) {
    const res = await request(`${cameraPaths.region(cameraId)}${query}`, from);
    return { res, data: await body(res) };
  }

  async function colaShare(jpeg: Buffer): Promise<number> {
    const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([64, 64]);
    const [r, g, b] = hexToRgb(COLA);
    let hits = 0;
    for (let i = 0; i < data.length; i += 3)
      if (Math.abs(data[i]! - r) + Math.abs(data[i + 1]! - g) + Math.abs(data[i + 2]! - b) < 60) hits++;
    return hits / (info.width * info.height);
  }

  it('lists each camera region URL', () => {
    expect(s.cameraUrls('cam-12').regionUrl).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/cameras\/cam-12\/region\.jpg$/,
    );
  });

  it('renders the item in a hand of a past frame as a 64×64 JPEG, with that frame’s headers', async () => {
    const { res, data } = await regionOf(regionSearch({ ...region, frame: 1 }));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.headers[HEADER_CAPTURE_TIME]).toBe(String(T0 + 100));
    expect(res.headers[HEADER_FRAME_INDEX]).toBe('1');
    // The can, seen from above, is a disc about 40 % of the crop wide (some 10 % of its pixels, most of
    // them the primary colour); frame 1's people were kept, though the shopper has moved on since.
    expect(await colaShare(data)).toBeGreaterThan(0.04);
    // Exactly the crop the classifier's training data would have: same people, lighting and noise.
    const { lightingVariation, noiseSd } = loaded.scenario.cameras;
    const training = createRenderer({ layout, catalog, seed: 3, lightingVariation, noiseSd });
    const crop = training.renderRegion('cam-12', [shopper([4.5, 2.2])], T0 + 100, 1, region, region.scale);
    expect(data.equals(await training.encodeJpeg(crop.rgb, crop.width, crop.height, 90))).toBe(true);
    // By default the latest frame, where that spot is empty.
    const latest = await regionOf(regionSearch(region));
    expect(latest.res.statusCode).toBe(200);
    expect(latest.res.headers[HEADER_FRAME_INDEX]).toBe('2');
    expect(latest.res.headers[HEADER_CAPTURE_TIME]).toBe(String(T0 + 200));
    expect(await colaShare(latest.data)).toBeLessThan(0.005);
  });

  it('serves regions on the camera’s own port too', async () => {
    const own = new URL(s.cameraUrls('cam-12').regionUrl);
    const { res, data } = await regionOf(regionSearch({ ...region, frame: 1 }), 'cam-12', own.origin);
    expect(res.statusCode).toBe(200);
    expect(await colaShare(data)).toBeGreaterThan(0.04);
  });

  it('answers 400 naming the parameter for a malformed query', async () => {
    const ok = { x: '300', y: '200', w: '20', h: '20', scale: '3.2' };
    const cases: [Record<string, string>, string][] = [
      [{ ...ok, w: '' }, 'w'],
      [{ x: ok.x, y: ok.y, h: ok.h, scale: ok.scale }, 'w'],
      [{ ...ok, scale: '9' }, 'scale'],
      [{ ...ok, h: '-4' }, 'h'],
      [{ ...ok, x: 'left' }, 'x'],
      [{ ...ok, frame: '1.5' }, 'frame'],
      [{ ...ok, w: '100', scale: '4' }, 'w'],
      [{ ...ok, y: '1e999' }, 'y'],
      [{ ...ok, x: '700' }, 'x'],
    ];
    for (const [query, parameter] of cases) {
      const { res, data } = await regionOf(`?${new URLSearchParams(query)}`);
      expect(res.statusCode, JSON.stringify(query)).toBe(400);
      const { error } = JSON.parse(data.toString()) as {
        error: { code: string; message: string; parameter: string };
      };
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.parameter, JSON.stringify(query)).toBe(parameter);
      expect(error.message).toContain(parameter);
    }
    const twice = await regionOf('?x=1&x=2&y=2&w=20&h=20&scale=1');
    expect(twice.res.statusCode).toBe(400);
    expect(JSON.parse(twice.data.toString()).error.message).toMatch(/x must be given only once/);
  });

  it('answers 404 for an unknown camera, 503 before a camera’s first frame, 404 for a frame not yet delivered', async () => {
    const unknown = await regionOf(regionSearch(region), 'cam-99');
    expect(unknown.res.statusCode).toBe(404);
    expect(JSON.parse(unknown.data.toString())).toMatchObject({ error: { code: 'CAMERA_UNKNOWN' } });
    const none = await regionOf(regionSearch(region), 'cam-24');
    expect(none.res.statusCode).toBe(503);
    expect(none.res.headers['retry-after']).toBe('1');
    expect(JSON.parse(none.data.toString())).toMatchObject({ error: { code: 'NO_FRAME_YET' } });
    const future = await regionOf(regionSearch({ ...region, frame: 99 }));
    expect(future.res.statusCode).toBe(404);
    expect(JSON.parse(future.data.toString())).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('answers 404 NOT_FOUND from a server without a region source', async () => {
    const res = await request(`${cameraPaths.region('cam-12')}${regionSearch(region)}`);
    expect(res.statusCode).toBe(404);
    expect(JSON.parse((await body(res)).toString())).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('answers 410 FRAME_GONE for a frame older than the camera keeps, and keeps streaming', async () => {
    const stream = await request(cameraPaths.stream('cam-12'), sBase);
    const reader = new MjpegReader();
    const got: MjpegFrame[] = [];
    stream.on('data', (chunk: Buffer) => got.push(...reader.push(chunk)));
    await until(() => s.clientCount('cam-12') === 1);
    got.length = 0;
    // 10 fps for a little more than the camera keeps.
    const last = 2 + KEEP_MS / 100 + 5;
    for (let i = 3; i <= last; i++) await deliver(i);
    await until(() => got.some((f) => f.frameIndex === last));
    const gone = await regionOf(regionSearch({ ...region, frame: 1 }));
    expect(gone.res.statusCode).toBe(410);
    expect(JSON.parse(gone.data.toString())).toMatchObject({ error: { code: 'FRAME_GONE' } });
    const kept = await regionOf(regionSearch({ ...region, frame: last - KEEP_MS / 100 }));
    expect(kept.res.statusCode).toBe(200);
    // After all the bad requests above, the stream still flows and regions still render.
    const before = got.length;
    await deliver(last + 1);
    await until(() => got.length > before);
    expect(got.at(-1)!.frameIndex).toBe(last + 1);
    expect(got.at(-1)!.captureTsMs).toBe(T0 + (last + 1) * 100);
    const again = await regionOf(regionSearch(region));
    expect(again.res.statusCode).toBe(200);
    expect(again.res.headers[HEADER_FRAME_INDEX]).toBe(String(last + 1));
    stream.destroy();
  });
});
