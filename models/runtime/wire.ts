import { type ErrorCode, WalkoutError } from '../../proto/errors.ts';
import type { WireError } from './types.ts';

/**
 * Errors across the thread boundary: structured cloning keeps neither the class nor the code, so a
 * WalkoutError travels as plain fields and is rebuilt with the same code and message.
 */

export function toWire(err: unknown, fallback: ErrorCode, file: string): WireError {
  if (err instanceof WalkoutError) {
    const prefix = `${err.code}: `;
    const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    return { code: err.code, message, details: cloneable(err.details) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: fallback, message: `${file}: ${message}`, details: { file } };
}

export function fromWire(w: WireError): WalkoutError {
  return new WalkoutError(w.code, w.message, w.details);
}

/** Details that survive structured cloning (anything else becomes its string form). */
function cloneable(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(details);
  } catch {
    return JSON.parse(JSON.stringify(details, (_k, v) => (typeof v === 'function' ? String(v) : v)));
  }
}
