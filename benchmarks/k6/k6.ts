/**
 * Finding (or building) k6, running a script with its environment, and reading what it wrote:
 * the end-of-test summary (`--summary-export`), raw samples (`--out json=`) and console lines.
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { machineCpu } from '../inference/stats.ts';

export const K6_MODULE = 'go.k6.io/k6@v1.8.1';

type Say = (line: string) => void;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where `go install` puts k6: $GOBIN, else the first entry of $(go env GOPATH) + /bin. */
function goBin(): string | null {
  try {
    const [gobin, gopath] = execFileSync('go', ['env', 'GOBIN', 'GOPATH'], { encoding: 'utf8' }).split('\n');
    if (gobin?.trim()) return join(gobin.trim(), 'k6');
    const first = gopath?.trim().split(delimiter)[0];
    return first ? join(first, 'bin', 'k6') : null;
  } catch {
    return null;
  }
}

/** k6 from PATH, else from $(go env GOPATH)/bin; built there with `go install` when missing. */
export async function findK6(say: Say): Promise<{ path: string; version: string }> {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((d) => join(d, 'k6'))
    .find(executable);
  let path = onPath;
  if (!path) {
    const installed = goBin();
    if (!installed) throw new Error('k6 is not on PATH and Go is not installed to build it (go install)');
    if (!executable(installed)) await buildK6(say);
    if (!executable(installed))
      throw new Error(`go install ${K6_MODULE} finished but ${installed} is missing`);
    path = installed;
  }
  const version = execFileSync(path, ['version'], { encoding: 'utf8' }).trim().split('\n')[0] ?? 'unknown';
  return { path, version };
}

async function buildK6(say: Say): Promise<void> {
  say(`k6 not found: building it with \`go install ${K6_MODULE}\` (a few minutes of CPU, once)…`);
  const started = Date.now();
  const child = spawn('go', ['install', '-v', K6_MODULE], {
    env: { ...process.env, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let packages = 0;
  let lastSaid = 0;
  const tail: string[] = [];
  // `go install -v` names each package as it is compiled (on stderr), and downloads before that.
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      if (line.startsWith('go: downloading')) return;
      packages += 1;
      const now = Date.now();
      if (now - lastSaid > 5000) {
        lastSaid = now;
        say(
          `  building k6: ${packages} packages compiled, ${Math.round((now - started) / 1000)} s (${line})`,
        );
      }
    });
  }
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`go install ${K6_MODULE} failed (exit ${code}):\n${tail.join('\n')}`);
  say(`  k6 built: ${packages} packages in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** CPU time of processes, sampled while a run lasts (a process's time is lost once it exits). */
export class CpuMeter {
  private readonly tck = clockTicks();
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly groupOf = new Map<number, string>();
  private timer: NodeJS.Timeout | null = null;
  private t0 = 0;
  private machine0: ReturnType<typeof machineCpu> = null;
  private stat0: number[] | null = null;

  constructor(private readonly groups: Record<string, () => number[]>) {}

  start(): void {
    this.t0 = performance.now();
    this.machine0 = machineCpu();
    this.stat0 = procStat();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), 500);
  }

  /** Every process on the machine: the groups' own, and the rest by name (who else was busy). */
  private sample(initial: boolean): void {
    const claimed = new Map<number, string>();
    for (const [group, pids] of Object.entries(this.groups))
      for (const pid of pids()) claimed.set(pid, group);
    for (const pid of allPids()) {
      const t = procTicks(pid);
      if (t === null) continue;
      if (!this.first.has(pid)) this.first.set(pid, initial ? t : 0);
      this.last.set(pid, t);
      if (!this.groupOf.has(pid) || claimed.has(pid))
        this.groupOf.set(pid, claimed.get(pid) ?? `untracked ${processName(pid)}`);
    }
  }

  /** Cores used on average by each group, the whole machine, and everything else. */
  stop(): Record<string, number> {
    this.sample(false);
    if (this.timer) clearInterval(this.timer);
    const wallS = (performance.now() - this.t0) / 1000;
    const machine1 = machineCpu();
    const cores: Record<string, number> = {};
    const untracked = new Map<string, number>();
    let ours = 0;
    for (const group of Object.keys(this.groups)) cores[group] = 0;
    for (const [pid, t] of this.last) {
      const c = (t - (this.first.get(pid) ?? 0)) / this.tck / wallS;
      const g = this.groupOf.get(pid)!;
      if (g.startsWith('untracked ')) untracked.set(g, (untracked.get(g) ?? 0) + c);
      else cores[g] = (cores[g] ?? 0) + c;
      ours += c;
    }
    const r2 = (v: number) => Math.round(v * 100) / 100;
    const out: Record<string, number> = Object.fromEntries(Object.entries(cores).map(([k, v]) => [k, r2(v)]));
    out.untrackedProcesses = r2([...untracked.values()].reduce((a, b) => a + b, 0));
    // The busiest other processes by name, so a shared machine shows in the result.
    for (const [g, c] of [...untracked].sort((a, b) => b[1] - a[1]).slice(0, 3))
      if (c >= 0.02) out[g.slice(0, 80)] = r2(c);
    if (this.machine0 && machine1 && machine1.total > this.machine0.total) {
      const cpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || 1;
      const machine = ((machine1.busy - this.machine0.busy) / (machine1.total - this.machine0.total)) * cpus;
      out.machine = r2(machine);
      // Not any process's: kernel interrupt work (loopback TCP runs much of itself in softirq),
      // time the hypervisor took (steal), and processes that came and went between samples.
      out.other = r2(Math.max(0, machine - ours));
      const stat1 = procStat();
      if (this.stat0 && stat1) {
        const d = stat1.map((v, i) => v - (this.stat0![i] ?? 0));
        const total = d.reduce((a, b) => a + b, 0) || 1;
        const share = (...idx: number[]) => r2((idx.reduce((a, i) => a + (d[i] ?? 0), 0) / total) * cpus);
        out.kernelIrqSoftirq = share(5, 6);
        out.steal = share(7);
      }
    }
    return out;
  }
}

/** The first line of /proc/stat: user nice system idle iowait irq softirq steal, in ticks. */
function procStat(): number[] | null {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  } catch {
    return null;
  }
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a process in clock ticks, or null if it is gone. */
function procTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number);
  } catch {
    return [];
  }
}

/** A process's name and the start of its command line, e.g. "node vitest run …". */
function processName(pid: number): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    const args = cmd
      .slice(1)
      .filter((a) => !a.startsWith('-'))
      .slice(0, 3)
      .map((a) => a.split('/').slice(-2).join('/'));
    return [comm, ...args].join(' ').slice(0, 70);
  } catch {
    return 'unknown';
  }
}

/** Every PostgreSQL process on the machine (the server of DATABASE_URL runs here too). */
export function postgresPids(): number[] {
  if (!existsSync('/proc')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export interface K6Outcome {
  /** 0: all thresholds held; 99: a threshold failed; anything else: k6 itself failed. */
  exitCode: number;
  wallSeconds: number;
  summary: LegacySummary | null;
  /** Console lines that started with one of the prefixes asked for. */
  captured: string[];
  cpuCores: Record<string, number>;
}

/** The `--summary-export` document: metrics by name, trend stats as asked, thresholds as failed flags. */
export interface LegacySummary {
  metrics: Record<string, Record<string, number | Record<string, boolean>> | undefined>;
}

export const TREND_STATS = 'min,med,avg,p(90),p(95),p(99),max';

export async function runK6(opts: {
  k6: string;
  script: string;
  label: string;
  env: Record<string, string>;
  summaryFile: string;
  rawFile?: string;
  capture?: string[];
  cloudPid: number;
  say: Say;
}): Promise<K6Outcome> {
  const args = [
    'run',
    '--no-usage-report',
    '--log-format',
    'raw',
    '--summary-export',
    opts.summaryFile,
    '--summary-trend-stats',
    TREND_STATS,
    // Raw samples for the histograms; fewer tags keep the file (a line per sample) small.
    ...(opts.rawFile
      ? [
          '--out',
          `json=${opts.rawFile}`,
          '--system-tags',
          'scenario,status,method,name,expected_response,error_code',
        ]
      : []),
    ...Object.entries(opts.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    opts.script,
  ];
  const started = performance.now();
  const child = spawn(opts.k6, args, {
    env: { ...process.env, K6_NO_USAGE_REPORT: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const meter = new CpuMeter({
    cloud: () => [opts.cloudPid],
    k6: () => (child.pid ? [child.pid] : []),
    postgres: postgresPids,
    driver: () => [process.pid],
  });
  meter.start();
  const captured: string[] = [];
  const prefixes = opts.capture ?? [];
  let lastProgress = '';
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (raw) => {
      const line = raw.trimEnd();
      if (prefixes.some((p) => line.startsWith(p))) {
        captured.push(line);
        return;
      }
      if (!line.trim()) return;
      // k6's progress bar, redrawn in place; one line in five is enough for a log.
      if (/^running \(/.test(line.trim()) || /\[\s*\d+%\s*\]/.test(line)) {
        if (line === lastProgress) return;
        lastProgress = line;
      }
      opts.say(`  [k6 ${opts.label}] ${line}`);
    });
  }
  const exitCode = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const cpuCores = meter.stop();
  let summary: LegacySummary | null = null;
  if (existsSync(opts.summaryFile))
    summary = JSON.parse(readFileSync(opts.summaryFile, 'utf8')) as LegacySummary;
  return { exitCode, wallSeconds: (performance.now() - started) / 1000, summary, captured, cpuCores };
}

/** Values of one metric's Point samples from `--out json=`, grouped by one tag's value. */
export async function readPoints(
  file: string,
  metric: string,
  byTag: string,
): Promise<Map<string, number[]>> {
  const groups = new Map<string, number[]>();
  if (!existsSync(file)) return groups;
  const needle = `"metric":"${metric}"`;
  const rl = createInterface({ input: createReadStream(file) });
  for await (const line of rl) {
    if (!line.includes('"type":"Point"') || !line.includes(needle)) continue;
    const p = JSON.parse(line) as { data: { value: number; tags?: Record<string, string> } };
    const key = p.data.tags?.[byTag] ?? '';
    const list = groups.get(key) ?? [];
    if (list.length === 0) groups.set(key, list);
    list.push(p.data.value);
  }
  return groups;
}

/** A metric's trend stats from the summary, as p50/p90/p95/p99/max (ms), or null if absent. */
export function trend(summary: LegacySummary | null, name: string): Record<string, number> | null {
  const m = summary?.metrics[name];
  if (!m) return null;
  const n = (k: string) =>
    typeof m[k] === 'number' ? Math.round((m[k] as number) * 1000) / 1000 : Number.NaN;
  return {
    p50: n('med'),
    p90: n('p(90)'),
    p95: n('p(95)'),
    p99: n('p(99)'),
    max: n('max'),
    avg: n('avg'),
    min: n('min'),
  };
}

/** Every threshold in the summary: metric → expression → passed. */
export function thresholds(summary: LegacySummary | null): Record<string, Record<string, boolean>> {
  const out: Record<string, Record<string, boolean>> = {};
  for (const [name, m] of Object.entries(summary?.metrics ?? {})) {
    const t = m?.thresholds;
    if (!t || typeof t !== 'object') continue;
    // The legacy export stores whether a threshold was crossed (true = failed).
    out[name] = Object.fromEntries(Object.entries(t).map(([expr, failed]) => [expr, !failed]));
  }
  return out;
}

export function metricValue(summary: LegacySummary | null, name: string, key: string): number {
  const v = summary?.metrics[name]?.[key];
  return typeof v === 'number' ? v : 0;
}
