import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../platform/log.ts';
import { type ErrorCode, isWalkoutError } from '../../proto/index.ts';
import type { CloudMetrics } from './metrics.ts';

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  PAYLOAD_INVALID: 400,
  UNAUTHENTICATED: 401,
  CREDENTIALS_INVALID: 401,
  FORBIDDEN: 403,
  DEVICE_KIND_REFUSED: 403,
  GATE_NOT_CONTROLLED: 403,
  BROKER_IDENTITY_INVALID: 400,
  BROKER_REFUSED: 503,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  EMAIL_TAKEN: 409,
  PAYMENT_METHOD_REJECTED: 422,
  PAYMENT_UNRESOLVED: 409,
  LAYOUT_INCONSISTENT: 422,
  PLANOGRAM_UNKNOWN_SKU: 422,
};

/** Every failure leaves as `{error: {code, message, issues?}}`, counted, logged with the request id. */
export function errorHandler(log: Logger, metrics: CloudMetrics) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void => {
    let code: ErrorCode;
    let message: string;
    let issues: unknown;
    if (isWalkoutError(err)) {
      code = err.code;
      message = err.message;
      issues = err.details.issues;
    } else if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own refusals: unparseable JSON, wrong content type, body too large.
      code = 'BAD_REQUEST';
      message = `BAD_REQUEST: ${err.message}`;
    } else {
      code = 'INTERNAL';
      message = 'INTERNAL: the request failed; see the server log under this request id';
    }
    const status = code === 'BAD_REQUEST' && err.statusCode === 413 ? 413 : (STATUS[code] ?? 500);
    if (status >= 500) log.error('request failed', { reqId: req.id, url: req.url, err });
    else {
      metrics.rejected.inc({ code, surface: 'http' });
      log.warn('request refused', { reqId: req.id, method: req.method, url: req.url, code, message });
    }
    void reply.code(status).send({ error: { code, message, ...(issues === undefined ? {} : { issues }) } });
  };
}
