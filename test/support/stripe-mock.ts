import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../platform/embedded-postgres.ts';

const VERSION = 'v0.203.0';

/** stripe-mock (Stripe's own API mock, a Go program): on PATH, in GOPATH/bin, or built there now. */
function binary(): string {
  const onPath = (() => {
    try {
      return execFileSync('sh', ['-c', 'command -v stripe-mock'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();
  if (onPath) return onPath;
  const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim();
  const built = join(gopath, 'bin', 'stripe-mock');
  if (!existsSync(built)) {
    process.stderr.write(`building stripe-mock ${VERSION} with go install (once per machine)\n`);
    execFileSync('go', ['install', `github.com/stripe/stripe-mock@${VERSION}`], { stdio: 'inherit' });
  }
  return built;
}

export async function startStripeMock(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const child: ChildProcess = spawn(binary(), ['-http-port', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/v1/balance`, { headers: { authorization: 'Bearer sk_test_123' } });
      return { url, stop: () => child.kill() };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill();
  throw new Error('stripe-mock did not start');
}
