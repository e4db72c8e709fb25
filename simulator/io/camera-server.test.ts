import { spawn, spawnSync } from 'node:child_process';
import { get, type IncomingMessage } from 'node:http';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cameraPaths,
  HEADER_CAPTURE_TIME,
  HEADER_FRAME_INDEX,
  type MjpegFrame,
  MjpegReader,
} from '../../proto/index.ts';
import { hexToRgb } from '../render/colour.ts';
import { createRenderer } from '../render/renderer.ts';
import { loadReferenceStore, standingPerson } from '../render/test-persons.ts';
import type { Label } from '../render/types.ts';
import { type CameraServer, createCameraServer } from './camera-server.ts';

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

function request(path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(`${base}${path}`, resolve).on('error', reject));
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
    }[];
    expect(list.map((c) => c.id)).toEqual(layout.cameras.map((c) => c.id));
    const own = server.cameraUrls('cam-11');
    expect(list[0]).toMatchObject({ fps: 10, resolution: { width: 640, height: 480 }, ...own });
    expect(own.streamUrl).toMatch(/\/cameras\/cam-11\/stream\.mjpeg$/);
    expect(own.snapshotUrl).toMatch(/\/cameras\/cam-11\/snapshot\.jpg$/);
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
