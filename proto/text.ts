import { z } from 'zod';

/**
 * PostgreSQL refuses U+0000 in text and jsonb alike, so a NUL in any field would otherwise reach
 * the database and fail there. Stated as a pattern, so the OpenAPI document says it too.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the NUL character is what is refused
export const NO_NUL = /^[^\u0000]*$/;
export const NO_NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

/** Free text from outside: bounded, never NUL. Every string a route takes is one of these or narrower. */
export function Text(max: number, min = 1) {
  return z.string().min(min).max(max).regex(NO_NUL, NO_NUL_MESSAGE);
}

/** PostgreSQL's `int`: a count or quantity beyond this is refused here, not by the database. */
export const INT4_MAX = 2_147_483_647;

/**
 * The first string (key or value) anywhere in a parsed message (an HTTP body, an edge report) that
 * the database could not store as
 * sent: a NUL, or a lone UTF-16 surrogate (which would be stored as U+FFFD). Walked without
 * recursion, so a deeply nested body cannot exhaust the stack.
 */
export function badText(value: unknown): { path: string; reason: string } | undefined {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      const reason = textProblem(v);
      if (reason) return { path, reason };
    } else if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) stack.push([item, path ? `${path}.${i}` : String(i)]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        const at = path ? `${path}.${k}` : k;
        const reason = textProblem(k);
        if (reason) return { path: at, reason: `key ${reason}` };
        stack.push([item, at]);
      }
    }
  }
  return undefined;
}

// In u-mode a pair is one code point, so only an unpaired half matches.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function textProblem(s: string): string | undefined {
  if (!NO_NUL.test(s)) return NO_NUL_MESSAGE;
  if (LONE_SURROGATE.test(s)) return 'must not contain a lone UTF-16 surrogate';
  return undefined;
}
