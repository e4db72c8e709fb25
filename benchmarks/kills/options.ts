/** The command line of `npm run bench:kills`, and the thresholds of the run, each named once. */

import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const root = fileURLToPath(new URL('../../', import.meta.url));

export interface KillOptions {
  /** SIGKILLs of the cloud before the quiet period. */
  kills: number;
  seed: number;
  /** Where kills.json and kills.svg go. */
  out: string;
  /** Edges reporting at once; each runs its own visits one after another, with its own gate. */
  lanes: number;
  /** Shoppers signed up before the first kill, shared by the lanes (one visit each at a time). */
  shoppers: number;
  /** The cloud lives a random time in [minUpMs, maxUpMs] after it listens, then is killed. */
  minUpMs: number;
  maxUpMs: number;
  /** An edge whose ack does not move for this long while a live cloud owes it one counts a stall. */
  ackStallMs: number;
  /** The share of gate answers the gate controller drops on purpose, retrying the same code. */
  lostAnswerRate: number;
  /** Of those dropped answers, the share after which the shopper walks away (no retry, no report). */
  walkAwayShare: number;
  /** The share of visits after which the edge drops its stream while the cloud stays up. */
  blipRate: number;
  /**
   * After the last kill the lanes go on this long with the cloud up: a fault a kill would heal
   * (acks frozen after a blip) must show here, since a kill comes every few seconds before.
   */
  calmS: number;
  /** The open-visit timeout given to the cloud, and the longest quiet period waited at the end. */
  openVisitTimeoutS: number;
  quietMaxS: number;
  /** Extra NAME=VALUE pairs for the cloud's environment (e.g. another name for the timeout). */
  cloudEnv: Record<string, string>;
  keepDb: boolean;
}

export function parseOptions(argv: string[]): KillOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      kills: { type: 'string', default: '100' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: join(root, 'benchmarks/results') },
      lanes: { type: 'string', default: '6' },
      shoppers: { type: 'string', default: '40' },
      'min-up-ms': { type: 'string', default: '300' },
      'max-up-ms': { type: 'string', default: '2000' },
      'ack-stall-ms': { type: 'string', default: '10000' },
      'lost-answer-rate': { type: 'string', default: '0.05' },
      'walk-away-share': { type: 'string', default: '0.2' },
      'blip-rate': { type: 'string', default: '0.25' },
      'calm-s': { type: 'string', default: '20' },
      'open-visit-timeout-s': { type: 'string', default: '30' },
      'quiet-max-s': { type: 'string', default: '60' },
      'cloud-env': { type: 'string', multiple: true, default: [] },
      'keep-db': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const int = (name: keyof typeof values, min: number) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return v;
  };
  const share = (name: keyof typeof values) => {
    const v = Number(values[name]);
    if (!(v >= 0 && v <= 1)) throw new Error(`--${name} must be between 0 and 1`);
    return v;
  };
  const cloudEnv: Record<string, string> = {};
  for (const pair of values['cloud-env'] as string[]) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--cloud-env takes NAME=VALUE, not ${pair}`);
    cloudEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const o: KillOptions = {
    kills: int('kills', 0),
    seed: int('seed', 0),
    out: resolve(values.out as string),
    lanes: int('lanes', 1),
    shoppers: int('shoppers', 1),
    minUpMs: int('min-up-ms', 0),
    maxUpMs: int('max-up-ms', 1),
    ackStallMs: int('ack-stall-ms', 100),
    lostAnswerRate: share('lost-answer-rate'),
    walkAwayShare: share('walk-away-share'),
    blipRate: share('blip-rate'),
    calmS: int('calm-s', 0),
    openVisitTimeoutS: int('open-visit-timeout-s', 1),
    quietMaxS: int('quiet-max-s', 1),
    cloudEnv,
    keepDb: values['keep-db'] as boolean,
  };
  if (o.maxUpMs < o.minUpMs) throw new Error('--max-up-ms must be at least --min-up-ms');
  if (o.shoppers < o.lanes) throw new Error('--shoppers must be at least --lanes');
  return o;
}

/** mulberry32: a small seeded generator, so a run's kill times and workload can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const between = (rand: () => number, lo: number, hi: number) =>
  lo + Math.floor(rand() * (hi - lo + 1));
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const say = (line: string) => process.stderr.write(`${line}\n`);
