/**
 * `npm run bench:fuzz`: Schemathesis, a property-based fuzzer, drives the cloud from its own
 * `/openapi.json`, as an attacker probing it would. It starts the cloud on a fresh database, makes a
 * shopper, an admin operator of a store and a gate controller so that the endpoints behind each kind
 * of credential are reached, and runs one pass per credential. Every response is checked: no 5xx,
 * only documented status codes and content types, bodies that match the documented schemas, and
 * schema-invalid requests refused. Writes benchmarks/results/fuzz.json; exits 1 on any failure.
 *
 * Schemathesis (PyPI) is installed into a venv under ~/.cache/walkout-fuzz on first use.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createOperator } from '../../cloud/operators/service.ts';
import { startTestCloud } from '../../test/support/cloud.ts';
import { referenceCatalog, setUpStore } from '../../test/support/store.ts';

const SCHEMATHESIS = '4.32.5';
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
];

const { values } = parseArgs({
  options: {
    // Per operation and phase; the default keeps a run within about five minutes on 2 cores.
    examples: { type: 'string', default: '40' },
    seed: { type: 'string', default: '18' },
    out: { type: 'string', default: 'benchmarks/results/fuzz.json' },
  },
});
process.env.LOG_LEVEL ??= 'error';

function schemathesis(): string {
  const venv = join(homedir(), '.cache', 'walkout-fuzz', 'venv');
  const st = join(venv, 'bin', 'schemathesis');
  const version = existsSync(st) ? spawnSync(st, ['--version'], { encoding: 'utf8' }).stdout : '';
  if (!version.includes(SCHEMATHESIS)) {
    process.stderr.write(`[fuzz] installing schemathesis ${SCHEMATHESIS} into ${venv}\n`);
    const steps: string[][] = [
      ['python3', '-m', 'venv', venv],
      [join(venv, 'bin', 'pip'), 'install', '-q', `schemathesis==${SCHEMATHESIS}`],
    ];
    for (const [cmd, ...args] of steps) {
      const r = spawnSync(cmd!, args, { stdio: 'inherit' });
      if (r.status !== 0)
        throw new Error(
          `${cmd} ${args.join(' ')} failed${cmd === 'python3' ? ' (Debian needs: apt-get install python3-venv)' : ''}`,
        );
    }
  }
  return st;
}

interface Pass {
  name: string;
  /** Which operations, by OpenAPI tag. */
  tags: string[];
  authorization: string;
  /** Path parameters held to real ids, so that the fuzzed bodies reach past the 404. */
  fixed?: Array<{ path: string; params: Record<string, string> }>;
}

interface Failure {
  check: string;
  operation: string;
  status?: number;
  title?: string;
}

const st = schemathesis();
const cloud = await startTestCloud('fuzz', { SCRYPT_COST: '1024', SETTLE_SWEEP_MS: '60000' });
try {
  const storeId = 'reference';
  // A store with a gate and an edge, and a shopper with an issued receipt and an open dispute of it.
  const store = await setUpStore(cloud, storeId);
  const { shopper, visitId } = await store.enter();
  store.take(visitId, referenceCatalog.items[0]!.sku, 2);
  store.close(visitId);
  await store.flushed();
  await cloud.settlement.idle();
  store.disconnect();
  const receiptId = (await cloud.call('GET', '/v1/me/receipts', { token: shopper.token })).body[0].id;
  const dispute = await cloud.call('POST', `/v1/me/receipts/${receiptId}/disputes`, {
    token: shopper.token,
    body: { lines: [{ lineNo: 1, quantity: 1 }], comment: 'one was not mine' },
  });
  await createOperator(
    cloud.ctx.db,
    {
      email: 'fuzz@example.test',
      password: 'operator password 1',
      name: 'Fuzz',
      role: 'admin',
      stores: [storeId],
    },
    1024,
  );
  const ops = await cloud.call('POST', '/v1/ops/sessions', {
    body: { email: 'fuzz@example.test', password: 'operator password 1' },
  });
  const operator = `Bearer ${ops.body.accessToken}`;
  const passes: Pass[] = [
    {
      name: 'shopper',
      tags: ['app'],
      authorization: `Bearer ${shopper.token}`,
      fixed: [{ path: '^/v1/me/receipts/\\{id\\}', params: { id: receiptId } }],
    },
    { name: 'operator', tags: ['operators'], authorization: operator },
    {
      name: 'operator-own-store',
      tags: ['operators'],
      authorization: operator,
      fixed: [
        { path: '^/v1/ops/stores/\\{storeId\\}', params: { storeId } },
        { path: '^/v1/ops/disputes/\\{id\\}', params: { id: dispute.body.id } },
        { path: '^/v1/ops/receipts/\\{id\\}', params: { id: receiptId } },
      ],
    },
    {
      name: 'device',
      tags: ['gate', 'sandbox'],
      authorization: `Basic ${Buffer.from(store.gate).toString('base64')}`,
    },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'walkout-fuzz-'));
  const started = performance.now();
  const results = [];
  for (const pass of passes) {
    const report = join(dir, `${pass.name}.ndjson`);
    const config = join(dir, `${pass.name}.toml`);
    writeFileSync(
      config,
      (pass.fixed ?? [])
        .map(
          (f) =>
            `[[operations]]\ninclude-path-regex = ${JSON.stringify(f.path)}\nparameters = { ${Object.entries(
              f.params,
            )
              .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
              .join(', ')} }\n`,
        )
        .join('\n'),
    );
    const args = [
      '--config-file',
      config,
      'run',
      `${cloud.httpUrl}/openapi.json`,
      '--checks',
      CHECKS.join(','),
      '--max-examples',
      values.examples,
      '--seed',
      values.seed,
      '--phases',
      'examples,coverage,fuzzing',
      // One worker: CPython 3.11 fails with 'AST constructor recursion depth mismatch' when
      // Hypothesis describes strategies on several threads at once.
      '--workers',
      '1',
      '--request-timeout',
      '5',
      '--continue-on-failure',
      '--suppress-health-check',
      'all',
      '--generation-database',
      'none',
      '--no-color',
      '-H',
      `Authorization: ${pass.authorization}`,
      ...pass.tags.flatMap((t) => ['--include-tag', t]),
      // An event stream never ends, so it cannot be one request of a fuzzer; its auth is tested in vitest.
      '--exclude-path',
      '/v1/me/events',
      '--report',
      'ndjson',
      '--report-ndjson-path',
      report,
    ];
    process.stderr.write(`[fuzz] ${pass.name}: schemathesis ${pass.tags.join(', ')}\n`);
    // Asynchronously: the cloud under test answers from this same process's event loop.
    const r = await run(st, args, dir);
    writeFileSync(join(dir, `${pass.name}.txt`), r.output);
    const summary = summarise(report);
    // Schemathesis's own summary only when the pass failed: its pytest-style banners ("1 warning in
    // 4.15s") read as a test run that ran nothing to tools that scan CI logs for test results.
    if (r.status !== 0 || summary.failures.length > 0) {
      process.stderr.write(`${r.output.split('\n').slice(-25).join('\n')}\n`);
    }
    process.stderr.write(
      `[fuzz] ${pass.name}: ${summary.requests} requests, ${summary.operations.length} operations, ` +
        `${summary.failures.length} failures, exit ${r.status}\n`,
    );
    results.push({ pass: pass.name, exit: r.status, ...summary });
  }
  const requests = results.reduce((n, r) => n + r.requests, 0);
  const failures = results.flatMap((r) => r.failures);
  const byCheck = Object.fromEntries(CHECKS.map((c) => [c, failures.filter((f) => f.check === c).length]));
  const result = {
    what: 'Schemathesis against /openapi.json: one pass per credential (shopper, operator, device)',
    tool: `schemathesis ${SCHEMATHESIS}`,
    seed: Number(values.seed),
    maxExamplesPerOperationAndPhase: Number(values.examples),
    checks: CHECKS,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    requests,
    failures: byCheck,
    operationsCovered: [...new Set(results.flatMap((r) => r.operations))].sort(),
    excluded: ['GET /v1/me/events (an unending event stream)'],
    statuses: results.reduce<Record<string, number>>((all, r) => {
      for (const [s, n] of Object.entries(r.statuses)) all[s] = (all[s] ?? 0) + n;
      return all;
    }, {}),
    toolErrors: results.flatMap((r) => r.toolErrors),
    passes: results.map(({ failures: f, operations, statuses: _s, toolErrors: _e, ...r }) => ({
      ...r,
      operations: operations.length,
      failed: f.length,
    })),
    failureDetails: dedupe(failures).slice(0, 50),
    command: 'npm run bench:fuzz',
  };
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(
    `[fuzz] ${requests} requests, ${result.operationsCovered.length} operations, ` +
      `${failures.length} failures ${JSON.stringify(byCheck)}; wrote ${values.out} (logs in ${dir})\n`,
  );
  process.exitCode = failures.length > 0 || requests === 0 || results.some((r) => r.exit !== 0) ? 1 : 0;
} finally {
  await cloud.stop();
}

/** In `cwd`, since Schemathesis keeps a cache of crashes in its working directory. */
function run(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** Requests made, operations reached and failures found, from one Schemathesis NDJSON event log. */
function summarise(path: string): {
  requests: number;
  operations: string[];
  failures: Failure[];
  statuses: Record<string, number>;
  toolErrors: string[];
} {
  const operations = new Set<string>();
  const failures: Failure[] = [];
  const statuses: Record<string, number> = {};
  const toolErrors: string[] = [];
  let requests = 0;
  if (!existsSync(path)) return { requests, operations: [], failures, statuses, toolErrors };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as Record<string, unknown>;
    const error = event.NonFatalError as
      | { label?: string; value?: { type?: string; message?: string } }
      | undefined;
    if (error) toolErrors.push(`${error.label}: ${error.value?.type}: ${error.value?.message}`);
    const scenario = event.ScenarioFinished as
      | {
          label?: string;
          recorder?: {
            label?: string;
            interactions?: Record<string, unknown>;
            checks?: Record<
              string,
              Array<{ name: string; status: string; failure_info?: { failure?: { title?: string } } | null }>
            >;
          };
        }
      | undefined;
    if (!scenario?.recorder) continue;
    const op = scenario.recorder.label ?? scenario.label ?? '?';
    operations.add(op);
    const interactions = scenario.recorder.interactions ?? {};
    requests += Object.keys(interactions).length;
    for (const i of Object.values(interactions) as Array<{ response?: { status_code?: number } }>) {
      const s = String(i.response?.status_code ?? 'none');
      statuses[s] = (statuses[s] ?? 0) + 1;
    }
    for (const [caseId, checks] of Object.entries(scenario.recorder.checks ?? {})) {
      for (const c of checks) {
        if (c.status !== 'FAILURE' && c.status !== 'failure') continue;
        const interaction = interactions[caseId] as { response?: { status_code?: number } } | undefined;
        failures.push({
          check: c.name,
          operation: op,
          status: interaction?.response?.status_code,
          title: c.failure_info?.failure?.title,
        });
      }
    }
  }
  return { requests, operations: [...operations], failures, statuses, toolErrors };
}

function dedupe(failures: Failure[]): Array<Failure & { count: number }> {
  const seen = new Map<string, Failure & { count: number }>();
  for (const f of failures) {
    const key = `${f.check}|${f.operation}|${f.status}|${f.title}`;
    const known = seen.get(key);
    if (known) known.count += 1;
    else seen.set(key, { ...f, count: 1 });
  }
  return [...seen.values()].sort((a, b) => b.count - a.count);
}
