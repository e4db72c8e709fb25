import type { z } from 'zod';
import { WalkoutError } from '../../proto/index.ts';

/** A cloud answer slower than this is treated as none: the gate or the shopper stops waiting. */
const REQUEST_TIMEOUT_MS = 10_000;

export type CloudAuth = { bearer: string } | { basic: { id: string; secret: string } } | undefined;

/**
 * One JSON call to the cloud's public API, as any client makes it. Every failure (no answer, an
 * error status, a body that is not what the contract says) is a CLOUD_REQUEST_FAILED carrying the
 * HTTP status and the cloud's own error code, so callers can tell an expired token from an outage.
 */
export async function cloudCall<T>(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  out: z.ZodType<T>,
  opts: { body?: unknown; auth?: CloudAuth } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const auth = opts.auth;
  if (auth && 'bearer' in auth) headers.authorization = `Bearer ${auth.bearer}`;
  if (auth && 'basic' in auth) {
    const pair = `${auth.basic.id}:${auth.basic.secret}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  const where = `${method} ${path}`;
  let res: Response;
  let text: string;
  try {
    res = await fetch(new URL(path, baseUrl), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await res.text();
  } catch (err) {
    throw new WalkoutError('CLOUD_REQUEST_FAILED', `${where}: no answer (${(err as Error).message})`, {
      status: null,
    });
  }
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof error?.code === 'string' ? error.code : null;
    const message = typeof error?.message === 'string' ? error.message : text.slice(0, 200);
    throw new WalkoutError('CLOUD_REQUEST_FAILED', `${where}: ${res.status} ${message}`, {
      status: res.status,
      code,
    });
  }
  const parsed = out.safeParse(body);
  if (!parsed.success) {
    throw new WalkoutError('CLOUD_REQUEST_FAILED', `${where}: unexpected answer (${parsed.error.message})`, {
      status: res.status,
    });
  }
  return parsed.data;
}

/** The HTTP status a failed cloud call got, or null when no answer came. */
export function failedStatus(err: unknown): number | null {
  if (err instanceof WalkoutError && err.code === 'CLOUD_REQUEST_FAILED') {
    const s = err.details.status;
    return typeof s === 'number' ? s : null;
  }
  return null;
}
