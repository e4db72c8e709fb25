import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, fromPino, pinoOf } from './log.ts';

/**
 * The logger as a process uses it: JSON lines on stderr, errors with everything that explains them
 * (`code`, `details`, `cause`), and the last lines before `process.exit` written, not dropped.
 */

const LOG = new URL('./log.ts', import.meta.url).href;
const ERRORS = new URL('../proto/errors.ts', import.meta.url).href;

function runScript(body: string, env: Record<string, string> = {}) {
  const script = `import { createLogger } from ${JSON.stringify(LOG)};
import { WalkoutError } from ${JSON.stringify(ERRORS)};
${body}`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: '', ...env },
    timeout: 30_000,
  });
  const lines = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines };
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, destination };
}

describe('platform/log', () => {
  it('keeps code, details and cause of a logged error, and writes it before process.exit', () => {
    const r = runScript(`
const log = createLogger('cloud').child('db');
const cause = Object.assign(new Error('duplicate key value'), { code: '23505', constraint: 'shoppers_email_key' });
const err = new WalkoutError('EMAIL_TAKEN', 'that email is taken', { field: 'email' }, { cause });
log.error('sign-up failed', { err, shopper: 's1' });
log.warn('odd cause', { error: new Error('outer', { cause: 'a plain string' }) });
process.exit(3);
`);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stdout).toBe('');
    const failed = r.lines.find((l) => l.msg === 'sign-up failed');
    expect(failed, r.stderr).toBeDefined();
    expect(failed).toMatchObject({
      level: 'error',
      name: 'cloud.db',
      shopper: 's1',
      err: {
        type: 'WalkoutError',
        message: 'EMAIL_TAKEN: that email is taken',
        code: 'EMAIL_TAKEN',
        details: { field: 'email' },
        cause: { message: 'duplicate key value', code: '23505', constraint: 'shoppers_email_key' },
      },
    });
    expect(failed.err.stack).toContain('EMAIL_TAKEN: that email is taken');
    expect(failed.err.cause.stack).toContain('duplicate key value');
    expect(Date.parse(failed.time)).not.toBeNaN();
    const odd = r.lines.find((l) => l.msg === 'odd cause');
    expect(odd).toMatchObject({ level: 'warn', error: { message: 'outer', cause: 'a plain string' } });
  });

  it('honours LOG_LEVEL', () => {
    const r = runScript(
      `const log = createLogger('x'); log.info('quiet'); log.warn('loud'); log.debug('hidden');`,
      { LOG_LEVEL: 'warn' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.lines.map((l) => l.msg)).toEqual(['loud']);
  });

  it('names children by their path, once per line, and hands its pino to libraries', async () => {
    const { lines, destination } = capture();
    const log = createLogger('cloud', { destination, level: 'debug' });
    log.child('http').child('gate').debug('scan', { n: 1 });
    // What Fastify does with pinoOf: a child per request, with the request id bound.
    const request = pinoOf(log.child('http')).child({ reqId: 'r-1' });
    fromPino(request).warn('refused', { code: 'FORBIDDEN' });
    await new Promise((r) => setImmediate(r));
    expect(lines).toEqual([
      expect.objectContaining({ name: 'cloud.http.gate', msg: 'scan', n: 1, level: 'debug' }),
      expect.objectContaining({ name: 'cloud.http', reqId: 'r-1', msg: 'refused', code: 'FORBIDDEN' }),
    ]);
  });
});
