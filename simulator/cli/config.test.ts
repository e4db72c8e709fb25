import { describe, expect, it } from 'vitest';
import { isWalkoutError } from '../../proto/index.ts';
import { parseSimConfig } from './config.ts';

const refusal = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  try {
    parseSimConfig(['--out', 'x', ...argv], env);
  } catch (err) {
    if (isWalkoutError(err, 'CONFIG_INVALID')) return err.message;
    throw err;
  }
  throw new Error('accepted');
};

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
    expect(refusal(['--cloud', 'http://c:1'])).toMatch(/gate device credentials/);
    expect(refusal(['--cloud', 'http://c:1', '--gate-credentials', 'no-colon'])).toMatch(/id:secret/);
    expect(
      refusal(['--cloud', 'http://c:1', '--gate-authority', 'local'], { WALKOUT_GATE_CREDENTIALS: 'g:s' }),
    ).toMatch(/contradicts/);
    expect(refusal(['--cloud', 'not a url'], { WALKOUT_GATE_CREDENTIALS: 'g:s' })).toMatch(/cloud/);
  });
});
