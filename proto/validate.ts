import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { type ErrorCode, WalkoutError } from './errors.ts';

/** One schema problem, named by its field path so that a person can find it in the file. */
export interface Issue {
  field: string;
  reason: string;
}

export function describeIssues(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({
    field:
      i.path.length === 0
        ? '(root)'
        : i.path
            .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
            .join('')
            .replace(/^\./, ''),
    reason: i.message,
  }));
}

export function formatIssues(issues: Issue[]): string {
  return issues.map((i) => `${i.field}: ${i.reason}`).join('; ');
}

/** Parses a value against a schema, throwing a WalkoutError that names the source, field and reason. */
export function parseWith<T>(
  schema: z.ZodType<T>,
  value: unknown,
  source: string,
  code: ErrorCode = 'FILE_INVALID',
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = describeIssues(result.error);
  throw new WalkoutError(code, `${source}: ${formatIssues(issues)}`, { source, issues });
}

/** Reads and validates a JSON file; every failure names the file. */
export function loadJsonFile<T>(path: string, schema: z.ZodType<T>): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WalkoutError(
      'FILE_UNREADABLE',
      `${path}: ${(err as Error).message}`,
      { source: path },
      { cause: err },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new WalkoutError(
      'FILE_NOT_JSON',
      `${path}: ${(err as Error).message}`,
      { source: path },
      { cause: err },
    );
  }
  return parseWith(schema, value, path);
}
