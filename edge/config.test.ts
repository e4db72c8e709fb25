import { describe, expect, it } from 'vitest';
import { refusal } from '../test/support/refusal.ts';
import { parseEdgeConfig } from './config.ts';

const replay = ['--store', 'store-1', '--replay', '/tmp/recording'];

const refused = (argv: string[]) => refusal('CONFIG_INVALID', () => parseEdgeConfig(argv, {}));

describe('the edge configuration', () => {
  it('leaves the inference threads to the loader unless told, and takes --detect-threads', () => {
    expect(parseEdgeConfig(replay, {}).detectThreads).toBeUndefined();
    const cfg = parseEdgeConfig([...replay, '--workers', '1', '--detect-threads', '2'], {});
    expect([cfg.workers, cfg.detectThreads]).toEqual([1, 2]);
  });

  it('names the flag that is wrong', () => {
    expect(refused([...replay, '--detect-threads', '0'])).toMatch(/detectThreads/);
    expect(refused([...replay, '--detect-threads', 'two'])).toMatch(/detectThreads/);
    expect(refused([...replay, '--threads', '2'])).toMatch(/threads/);
  });
});
