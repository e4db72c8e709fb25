import { z } from 'zod';

/**
 * PostgreSQL refuses U+0000 in text and jsonb alike, so a NUL in any field would otherwise reach
 * the database and fail there. Stated as a pattern, so the OpenAPI document says it too.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the NUL character is what is refused
export const NO_NUL = /^[^\u0000]*$/;

/** Free text from outside: bounded, never NUL. Every string a route takes is one of these or narrower. */
export function Text(max: number, min = 1) {
  return z.string().min(min).max(max).regex(NO_NUL, 'must not contain the NUL character (U+0000)');
}

/** PostgreSQL's `int`: a count or quantity beyond this is refused here, not by the database. */
export const INT4_MAX = 2_147_483_647;
