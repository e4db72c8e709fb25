import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFakeDataset } from './fake-data.ts';

const cli = new URL('./cli.ts', import.meta.url).pathname;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'walkout-eval-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('models:eval CLI', () => {
  it('exits 2 naming the missing dataset and the command that builds it', () => {
    const data = join(dir, 'no-data');
    const r = run('--json', '--data', data);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(join(data, 'meta.json'));
    expect(r.stderr).toContain('npm run models:data');
  });

  it('exits 2 naming a missing model and the command that trains it', () => {
    const data = join(dir, 'data');
    writeFakeDataset(data);
    const models = join(dir, 'no-models');
    const r = run('--data', data, '--models', models, '--only', 'classifier');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(join(models, 'classifier', 'manifest.json'));
    expect(r.stderr).toContain('npm run models:train');
  });

  it('exits 2 on an unknown model name', () => {
    const r = run('--only', 'detector,tracker');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CONFIG_INVALID');
  });
});
