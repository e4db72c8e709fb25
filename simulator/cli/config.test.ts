import { describe, expect, it } from 'vitest';
import { refusal } from '../../test/support/refusal.ts';
import { parseSimConfig } from './config.ts';

const refused = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  refusal('CONFIG_INVALID', () => parseSimConfig(['--out', 'x', ...argv], env));

describe('the simulator’s cloud settings', () => {
  it('come from flags or the environment, the secret preferably from the environment', () => {
    const c = parseSimConfig(['--out', 'x', '--cloud', 'http://127.0.0.1:8080'], {
      WALKOUT_GATE_CREDENTIALS: 'gate-1a2b:s3cr-et_',
    });
    expect(c).toMatchObject({ cloud: 'http://127.0.0.1:8080', gateCredentials: 'gate-1a2b:s3cr-et_' });
    expect(c.gateAuthority).toBeUndefined();
    const e = parseSimConfig(['--out', 'x'], {
      WALKOUT_CLOUD_URL: 'http://c:1',
      WALKOUT_GATE_CREDENTIALS: 'g:s',
    });
    expect(e.cloud).toBe('http://c:1');
    expect(parseSimConfig(['--out', 'x'], {}).cloud).toBeUndefined();
  });

  it('refuse a cloud without gate credentials, malformed credentials, and a local gate authority with a cloud', () => {
    expect(refused(['--cloud', 'http://c:1'])).toMatch(/gate device credentials/);
    expect(refused(['--cloud', 'http://c:1', '--gate-credentials', 'no-colon'])).toMatch(/id:secret/);
    expect(
      refused(['--cloud', 'http://c:1', '--gate-authority', 'local'], { WALKOUT_GATE_CREDENTIALS: 'g:s' }),
    ).toMatch(/contradicts/);
    expect(refused(['--cloud', 'not a url'], { WALKOUT_GATE_CREDENTIALS: 'g:s' })).toMatch(/cloud/);
  });
});
