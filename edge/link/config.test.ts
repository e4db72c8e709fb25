import { describe, expect, it } from 'vitest';
import { refusal } from '../../test/support/refusal.ts';
import { loadLinkConfig } from './config.ts';
import { backoffMs } from './timers.ts';

const section = { address: 'cloud.example:50051', outboxDir: '/var/lib/walkout/outbox' };

describe('the link configuration', () => {
  it('takes the credentials from WALKOUT_EDGE_CREDENTIALS and fills the defaults', () => {
    const cfg = loadLinkConfig(section, { WALKOUT_EDGE_CREDENTIALS: 'edge-0a1b2c:s3cr3t_-x' });
    expect(cfg.credentials).toEqual({ id: 'edge-0a1b2c', secret: 's3cr3t_-x' });
    expect(cfg.backoff).toEqual({ initialMs: 250, maxMs: 15_000, factor: 2, jitter: 0.5 });
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('names the field and the reason when it is wrong, without echoing the secret', () => {
    const fail = (s: unknown, env: Record<string, string>) =>
      refusal('CONFIG_INVALID', () => loadLinkConfig(s, env));
    expect(fail(section, {})).toMatch(/credentials: /);
    const noColon = fail(section, { WALKOUT_EDGE_CREDENTIALS: 'edge-0a1b2c-s3cr3t' });
    expect(noColon).toMatch(/credentials: id:secret/);
    expect(noColon).not.toMatch(/s3cr3t/);
    expect(fail({ ...section, address: 'http://cloud:50051' }, { WALKOUT_EDGE_CREDENTIALS: 'e:s' })).toMatch(
      /address: host:port/,
    );
    expect(fail({ ...section, backoff: { maxMs: 0 } }, { WALKOUT_EDGE_CREDENTIALS: 'e:s' })).toMatch(
      /backoff\.maxMs/,
    );
    expect(fail({ ...section, outboxDirectory: '/x' }, { WALKOUT_EDGE_CREDENTIALS: 'e:s' })).toMatch(
      /outboxDirectory/,
    );
  });
});

describe('the reconnect backoff', () => {
  const cfg = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
  it('doubles from the first wait up to the cap, and jitter only shortens it', () => {
    expect([0, 1, 2, 3, 4, 10, 5000].map((a) => backoffMs(a, cfg, () => 0))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
    expect(backoffMs(3, cfg, () => 1)).toBe(400);
    expect(backoffMs(3, cfg, () => 0.5)).toBe(600);
  });
});
