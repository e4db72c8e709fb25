import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import sharp from 'sharp';
import { cameraPaths, MJPEG_BOUNDARY, partHeader } from '../../proto/index.ts';

/**
 * A camera host for tests: serves GET /cameras/{id}/stream.mjpeg per proto/camera/stream.ts and
 * writes exactly what the test says, when it says it (frames, or any bytes at all), to every open
 * stream of that camera. Unlike the simulator's camera server it never skips a slow client, so a
 * test knows every frame it sent was on the wire.
 */
export interface TestCameraHost {
  streamUrl(cameraId: string): string;
  send(cameraId: string, frame: { jpeg: Buffer; captureMs: number; frameIndex: number }): void;
  /** Bytes as they are, inside the multipart body. */
  sendRaw(cameraId: string, bytes: Buffer): void;
  /** Open streams of a camera. */
  clients(cameraId: string): number;
  /** Streams opened so far, of a camera. */
  connections(cameraId: string): number;
  /** Cuts every open connection, as a camera that reboots. */
  dropAll(): void;
  /** Answers further stream requests with this status (503, as a camera still booting), or normally (null). */
  refuseWith(status: number | null): void;
  close(): Promise<void>;
}

export async function startTestCameraHost(): Promise<TestCameraHost> {
  const streams = new Map<string, Set<ServerResponse>>();
  const opened = new Map<string, number>();
  const sockets = new Set<Socket>();
  let refusal: number | null = null;
  const server = createServer((req, res) => {
    const m = /^\/cameras\/([^/]+)\/stream\.mjpeg$/.exec(req.url ?? '');
    if (!m || refusal !== null) {
      res.writeHead(m ? refusal! : 404).end();
      return;
    }
    const id = decodeURIComponent(m[1]!);
    res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}` });
    res.flushHeaders();
    const set = streams.get(id) ?? new Set();
    streams.set(id, set.add(res));
    opened.set(id, (opened.get(id) ?? 0) + 1);
    res.on('close', () => set.delete(res));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const write = (cameraId: string, bytes: Buffer) => {
    for (const res of streams.get(cameraId) ?? []) res.write(bytes);
  };
  return {
    streamUrl: (cameraId) => `${base}${cameraPaths.stream(cameraId)}`,
    send: (cameraId, f) =>
      write(
        cameraId,
        Buffer.concat([
          partHeader({ jpeg: f.jpeg, captureTsMs: f.captureMs, frameIndex: f.frameIndex }),
          f.jpeg,
          Buffer.from('\r\n'),
        ]),
      ),
    sendRaw: write,
    clients: (cameraId) => streams.get(cameraId)?.size ?? 0,
    connections: (cameraId) => opened.get(cameraId) ?? 0,
    dropAll: () => {
      for (const s of sockets) s.destroy();
    },
    refuseWith: (status) => {
      refusal = status;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A small real JPEG whose grey level tells frames apart. */
export async function testJpeg(level: number): Promise<Buffer> {
  const v = level % 256;
  return sharp({ create: { width: 16, height: 12, channels: 3, background: { r: v, g: v, b: v } } })
    .jpeg()
    .toBuffer();
}
