import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Camera,
  cameraPaths,
  type ErrorCode,
  isWalkoutError,
  MJPEG_BOUNDARY,
  type MjpegFrame,
  parseRegionQuery,
  partHeader,
  type RegionRequest,
  type WalkoutError,
} from '../../proto/index.ts';

/**
 * The simulated cameras over HTTP, per the proto camera contract:
 *   GET /cameras                        JSON list: id, resolution, fps, streamUrl, snapshotUrl, regionUrl
 *   GET /cameras/{id}/stream.mjpeg      multipart/x-mixed-replace, one part per published frame
 *   GET /cameras/{id}/snapshot.jpg      the latest frame
 *   GET /cameras/{id}/region.jpg?...    part of a recent frame from the main stream (when `regions` is given)
 * Every part, snapshot and region carries X-Capture-Time-Ms and X-Frame-Index. A client that does
 * not keep up is skipped (it gets the next frame published after its socket drains), so a slow or
 * paused client costs at most one frame of buffer, never a growing queue.
 */
export interface CameraServer {
  /** Starts listening; resolves to the base URL, e.g. http://127.0.0.1:8081. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Where a camera's own stream, snapshot and regions are (each camera listens on a port of its own
   * too); regionUrl is without its query (see regionSearch).
   */
  cameraUrls(cameraId: string): CameraUrls;
  /** Sends a frame to every client of the camera and keeps it as the camera's snapshot. */
  publish(cameraId: string, frame: MjpegFrame): void;
  /** Open stream clients, of one camera or of all. */
  clientCount(cameraId?: string): number;
  /** Per stream client: what it was sent, what it missed, and what is buffered for it now. */
  clients(): StreamClientStats[];
  /** Ends every stream and stops listening. */
  close(): Promise<void>;
}

export interface StreamClientStats {
  cameraId: string;
  framesSent: number;
  framesSkipped: number;
  /** Bytes queued in the process for this client (not yet handed to the socket). */
  bufferedBytes: number;
}

export interface CameraUrls {
  streamUrl: string;
  snapshotUrl: string;
  regionUrl: string;
}

/**
 * Renders main-stream regions of recent frames. `frameIndex` null means the latest frame. Throws (or
 * rejects with) WalkoutError CAMERA_UNKNOWN, NO_FRAME_YET, FRAME_GONE (too old), NOT_FOUND (never
 * delivered) or BAD_REQUEST; the server answers each with its HTTP status.
 */
export interface RegionSource {
  render(
    cameraId: string,
    frameIndex: number | null,
    region: { x: number; y: number; w: number; h: number },
    scale: number,
  ): Promise<MjpegFrame>;
}

export interface CameraServerOptions {
  layout: { cameras: readonly Camera[] };
  /** Serves region.jpg; without it region requests get 404 NOT_FOUND. */
  regions?: RegionSource | undefined;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  CAMERA_UNKNOWN: 404,
  NOT_FOUND: 404,
  FRAME_GONE: 410,
  NO_FRAME_YET: 503,
};

interface Client {
  cameraId: string;
  res: ServerResponse;
  sent: number;
  skipped: number;
  blocked: boolean;
}

const CRLF = Buffer.from('\r\n');

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  parameter?: string,
): void {
  sendJson(res, status, { error: { code, message, ...(parameter === undefined ? {} : { parameter }) } });
}

/** A WalkoutError's message without the `CODE: ` prefix, as the code travels beside it. */
function withoutCode(err: WalkoutError): string {
  const prefix = `${err.code}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

function sendJpeg(res: ServerResponse, frame: MjpegFrame): void {
  res.writeHead(200, {
    'Content-Type': 'image/jpeg',
    'Content-Length': frame.jpeg.length,
    'Cache-Control': 'no-store',
    'X-Capture-Time-Ms': String(frame.captureTsMs),
    'X-Frame-Index': String(frame.frameIndex),
  });
  res.end(frame.jpeg);
}

export function createCameraServer(options: CameraServerOptions): CameraServer {
  const cameras = new Map(options.layout.cameras.map((c) => [c.id, c]));
  const latest = new Map<string, MjpegFrame>();
  const clients = new Set<Client>();
  let server: Server | null = null;
  /** Each camera also listens on a port of its own, as a real camera is a host of its own. */
  const own = new Map<string, { server: Server; base: string }>();

  const send = (client: Client, frame: MjpegFrame): void => {
    const { res } = client;
    if (res.destroyed || res.writableEnded) return;
    if (client.blocked || res.writableNeedDrain) {
      client.skipped++;
      return;
    }
    res.cork();
    res.write(partHeader(frame));
    res.write(frame.jpeg);
    const ok = res.write(CRLF);
    res.uncork();
    client.sent++;
    if (!ok) {
      client.blocked = true;
      res.once('drain', () => {
        client.blocked = false;
      });
    }
  };

  const openStream = (req: IncomingMessage, res: ServerResponse, cameraId: string): void => {
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      Connection: 'close',
    });
    res.flushHeaders();
    const client: Client = { cameraId, res, sent: 0, skipped: 0, blocked: false };
    clients.add(client);
    const drop = () => clients.delete(client);
    res.on('close', drop);
    res.on('error', drop);
    req.on('error', drop);
    const frame = latest.get(cameraId);
    if (frame) send(client, frame);
  };

  const sendSnapshot = (res: ServerResponse, cameraId: string): void => {
    const frame = latest.get(cameraId);
    if (!frame) {
      res.setHeader('Retry-After', '1');
      sendError(res, 503, 'NO_FRAME_YET', `camera ${cameraId} has not produced a frame yet`);
      return;
    }
    sendJpeg(res, frame);
  };

  const sendRegion = (res: ServerResponse, cameraId: string, search: string): void => {
    const { regions } = options;
    if (!regions) {
      sendError(res, 404, 'NOT_FOUND', `camera ${cameraId} serves no main-stream regions here`);
      return;
    }
    let q: RegionRequest;
    try {
      q = parseRegionQuery(search);
    } catch (err) {
      if (!isWalkoutError(err, 'BAD_REQUEST')) throw err;
      sendError(res, 400, 'BAD_REQUEST', withoutCode(err), String(err.details.parameter));
      return;
    }
    const { width, height } = cameras.get(cameraId)!.resolution;
    // Parts beyond the frame's edges are drawn as the lens would see them, but some must be in it.
    for (const [p, at, size, limit] of [
      ['x', q.x, q.w, width],
      ['y', q.y, q.h, height],
    ] as const) {
      if (at < limit && at + size > 0) continue;
      const message = `${p}: the region spans [${at}, ${at + size}), outside camera ${cameraId}'s frame [0, ${limit})`;
      sendError(res, 400, 'BAD_REQUEST', message, p);
      return;
    }
    const region = { x: q.x, y: q.y, w: q.w, h: q.h };
    // A render that throws synchronously is answered like one that rejects.
    Promise.resolve()
      .then(() => regions.render(cameraId, q.frame ?? null, region, q.scale))
      .then(
        (frame) => sendJpeg(res, frame),
        (err: unknown) => {
          if (res.headersSent) {
            res.destroy();
            return;
          }
          const status = isWalkoutError(err) ? STATUS[err.code] : undefined;
          if (isWalkoutError(err) && status !== undefined) {
            if (status === 503) res.setHeader('Retry-After', '1');
            sendError(res, status, err.code, withoutCode(err));
            return;
          }
          const reason = err instanceof Error ? err.message : String(err);
          sendError(res, 500, 'RENDER_FAILED', `region of camera ${cameraId}: ${reason}`);
        },
      );
  };

  const urlsFor = (cameraId: string, fallbackBase: string): CameraUrls => {
    const base = own.get(cameraId)?.base ?? fallbackBase;
    return {
      streamUrl: `${base}${cameraPaths.stream(cameraId)}`,
      snapshotUrl: `${base}${cameraPaths.snapshot(cameraId)}`,
      regionUrl: `${base}${cameraPaths.region(cameraId)}`,
    };
  };

  const bind = (s: Server, port: number, host: string) =>
    new Promise<string>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => {
        s.off('error', reject);
        const addr = s.address() as AddressInfo;
        const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
        resolve(`http://${h}:${addr.port}`);
      });
    });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not supported`);
      return;
    }
    if (path === cameraPaths.index() || path === `${cameraPaths.index()}/`) {
      const base = `http://${req.headers.host ?? 'localhost'}`;
      sendJson(
        res,
        200,
        [...cameras.values()].map((c) => ({
          id: c.id,
          resolution: { width: c.resolution.width, height: c.resolution.height },
          fps: c.fps,
          ...urlsFor(c.id, base),
        })),
      );
      return;
    }
    const m = /^\/cameras\/([^/]+)\/(stream\.mjpeg|snapshot\.jpg|region\.jpg)$/.exec(path);
    if (!m) {
      sendError(res, 404, 'NOT_FOUND', `no such resource: ${path}`);
      return;
    }
    let cameraId: string;
    try {
      cameraId = decodeURIComponent(m[1]!);
    } catch {
      sendError(res, 400, 'BAD_REQUEST', `malformed camera id in ${path}`);
      return;
    }
    if (!cameras.has(cameraId)) {
      sendError(res, 404, 'CAMERA_UNKNOWN', `no camera ${cameraId}`);
      return;
    }
    if (m[2] === 'snapshot.jpg') sendSnapshot(res, cameraId);
    else if (m[2] === 'region.jpg') sendRegion(res, cameraId, queryAt < 0 ? '' : url.slice(queryAt + 1));
    else if (req.method === 'HEAD') {
      res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}` });
      res.end();
    } else openStream(req, res, cameraId);
  };

  return {
    async listen(port = 0, host = '127.0.0.1') {
      if (server) throw new Error('camera server is already listening');
      const s = createServer(handle);
      server = s;
      let base: string;
      try {
        base = await bind(s, port, host);
      } catch (err) {
        server = null; // so the caller may try another port
        throw err;
      }
      // Browsers open at most six connections to one host and port, so eight streams on one port
      // would starve two of them; a port per camera also mirrors real cameras, one host each.
      let i = 0;
      for (const id of cameras.keys()) {
        i++;
        const cs = createServer(handle);
        const camBase = await bind(cs, port === 0 ? 0 : port + i, host).catch(() => bind(cs, 0, host));
        own.set(id, { server: cs, base: camBase });
      }
      return base;
    },
    cameraUrls(cameraId) {
      if (!server) throw new Error('camera server is not listening');
      return urlsFor(cameraId, '');
    },
    publish(cameraId, frame) {
      if (!cameras.has(cameraId)) throw new Error(`camera server: unknown camera ${cameraId}`);
      latest.set(cameraId, frame);
      for (const client of clients) if (client.cameraId === cameraId) send(client, frame);
    },
    clientCount(cameraId) {
      let n = 0;
      for (const c of clients) if (cameraId === undefined || c.cameraId === cameraId) n++;
      return n;
    },
    clients() {
      return [...clients].map((c) => ({
        cameraId: c.cameraId,
        framesSent: c.sent,
        framesSkipped: c.skipped,
        bufferedBytes: c.res.writableLength,
      }));
    },
    async close() {
      for (const c of clients) c.res.end();
      clients.clear();
      const all = [server, ...[...own.values()].map((o) => o.server)].filter((x): x is Server => x !== null);
      server = null;
      own.clear();
      await Promise.all(
        all.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}
