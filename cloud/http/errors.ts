import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { fromPino } from '../../platform/log.ts';
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
  UNSUPPORTED_MEDIA_TYPE: 415,
  EMAIL_TAKEN: 409,
  PAYMENT_METHOD_REJECTED: 422,
  PAYMENT_UNRESOLVED: 409,
  LAYOUT_INCONSISTENT: 422,
  PLANOGRAM_UNKNOWN_SKU: 422,
};

/** Query parameters that carry a credential: never written to a log as they came. */
const SECRET_PARAMS = /([?&](?:access_token|token|refresh_token)=)[^&#]*/gi;

/** The URL with any credential in its query replaced, for logs and messages. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

/**
 * Every failure leaves as `{error: {code, message, issues?}}`, counted, logged with the request id.
 * Anything not refused on purpose (a database error, a bug) answers a generic 500 with the request
 * id: its own text, which may quote SQL or the values in it, goes only to the log.
 */
export function errorHandler(metrics: CloudMetrics) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void => {
    const log = fromPino(req.log); // carries the request id
    let code: ErrorCode;
    let message: string;
    let issues: unknown;
    let status: number;
    if (isWalkoutError(err)) {
      code = err.code;
      message = err.message;
      issues = err.details.issues;
      status = STATUS[code] ?? 500;
    } else if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own refusals: unparseable JSON, wrong content type, body too large.
      code = err.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
      message = `${code}: ${err.message}`;
      status = err.statusCode === 413 || err.statusCode === 415 ? err.statusCode : 400;
    } else {
      code = 'INTERNAL';
      message = `INTERNAL: the request failed; see the server log under request id ${req.id}`;
      status = 500;
    }
    const url = redactUrl(req.url);
    if (status >= 500) {
      log.error('request failed', { method: req.method, url, err });
    } else {
      metrics.rejected.inc({ code, surface: 'http' });
      log.warn('request refused', { method: req.method, url, code, message });
    }
    void reply.code(status).send({
      error: { code, message, ...(issues === undefined ? {} : { issues }), requestId: req.id },
    });
  };
}
