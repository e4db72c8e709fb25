/**
 * Evidence over HTTP for review, read-only (docs/edge.md, "Evidence kept at the edge"):
 *
 *   GET /evidence/{eventId}                               the record, each frame with its URL
 *   GET /evidence/{eventId}/frames/{cameraId}/{n}.jpg     one frame
 *
 * `eventId` is a cart line's evidence reference without its `weight:` prefix. Errors are
 * `{ error: { code, message } }` as the cloud's: EVIDENCE_ID_INVALID (400) for anything not of the
 * edge's id forms (so no path can leave the store's directory), EVIDENCE_UNKNOWN (404) for what is
 * not kept, NOT_FOUND (404) for other paths.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from '../../platform/log.ts';
import { type ErrorCode, isWalkoutError, WalkoutError } from '../../proto/errors.ts';
import type { EvidenceStore } from './store.ts';

const STATUS: Partial<Record<ErrorCode, number>> = {
  EVIDENCE_ID_INVALID: 400,
  EVIDENCE_UNKNOWN: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
};

const FRAME_FILE = /^(\d{1,12})\.jpg$/;

export function evidenceUrl(eventId: string): string {
  return `/evidence/${encodeURIComponent(eventId)}`;
}

export function frameUrl(eventId: string, cameraId: string, frameIndex: number): string {
  return `${evidenceUrl(eventId)}/frames/${encodeURIComponent(cameraId)}/${frameIndex}.jpg`;
}

export function buildEvidenceServer(store: EvidenceStore, log: Logger): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get<{ Params: { eventId: string } }>('/evidence/:eventId', async (req) => {
    const { eventId } = req.params;
    const record = await store.read(eventId);
    if (!record) throw unknown(`no evidence kept for weight event ${eventId}`, { eventId });
    return {
      ...record,
      frames: record.frames.map((f) => ({ ...f, url: frameUrl(eventId, f.cameraId, f.frameIndex) })),
    };
  });
  app.get<{ Params: { eventId: string; cameraId: string; file: string } }>(
    '/evidence/:eventId/frames/:cameraId/:file',
    async (req, reply) => {
      const { eventId, cameraId, file } = req.params;
      const m = FRAME_FILE.exec(file);
      if (!m)
        throw new WalkoutError('EVIDENCE_ID_INVALID', `not a frame file (N.jpg): ${JSON.stringify(file)}`);
      const jpeg = await store.frame(eventId, cameraId, Number(m[1]));
      if (!jpeg) throw unknown(`no frame ${m[1]} of ${cameraId} kept for ${eventId}`, { eventId, cameraId });
      // Evidence never changes once written: a reviewer's browser may keep it.
      return reply.type('image/jpeg').header('cache-control', 'private, max-age=86400').send(jpeg);
    },
  );
  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .send({ error: { code: 'NOT_FOUND', message: `NOT_FOUND: ${req.method} ${req.url}` } });
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const code: ErrorCode = isWalkoutError(err)
      ? err.code
      : err.statusCode !== undefined && err.statusCode < 500
        ? 'EVIDENCE_ID_INVALID'
        : 'INTERNAL';
    const status = STATUS[code] ?? (code === 'INTERNAL' ? 500 : 400);
    if (status >= 500) log.error('evidence request failed', { url: req.url, err: err.message });
    void reply.code(status).send({ error: { code, message: isWalkoutError(err) ? err.message : code } });
  });
  return app;
}

function unknown(message: string, details: Record<string, unknown>): WalkoutError {
  return new WalkoutError('EVIDENCE_UNKNOWN', message, details);
}
