import { describe, expect, it } from 'vitest';
import { isWalkoutError } from '../proto/index.ts';
import { parseEdgeConfig } from './config.ts';

const replay = ['--store', 'store-1', '--replay', '/tmp/recording'];

function refusal(argv: string[]): string {
  try {
    parseEdgeConfig(argv, {});
  } catch (err) {
    if (isWalkoutError(err, 'CONFIG_INVALID')) return err.message;
    throw err;
  }
  throw new Error('accepted');
}

describe('the edge configuration', () => {
  it('leaves the inference threads to the loader unless told, and takes --detect-threads', () => {
    expect(parseEdgeConfig(replay, {}).detectThreads).toBeUndefined();
    const cfg = parseEdgeConfig([...replay, '--workers', '1', '--detect-threads', '2'], {});
    expect([cfg.workers, cfg.detectThreads]).toEqual([1, 2]);
  });

  it('names the flag that is wrong', () => {
    expect(refusal([...replay, '--detect-threads', '0'])).toMatch(/detectThreads/);
    expect(refusal([...replay, '--detect-threads', 'two'])).toMatch(/detectThreads/);
    expect(refusal([...replay, '--threads', '2'])).toMatch(/threads/);
  });
});
