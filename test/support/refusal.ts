import { type ErrorCode, isWalkoutError } from '../../proto/index.ts';

/**
 * The message of the `code` error `run` throws, for a test to read what it names; any other
 * error is thrown on, and a run that throws nothing fails the test.
 */
export function refusal(code: ErrorCode, run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (isWalkoutError(err, code)) return err.message;
    throw err;
  }
  throw new Error(`accepted: expected ${code}`);
}
