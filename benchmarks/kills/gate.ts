/**
 * The app's and the gate controller's HTTP calls, made as they would be against a cloud that may
 * vanish at any moment: a call that fails for want of the cloud waits for it and is made again.
 * The gate retries the SAME code after losing an answer (a real controller cannot know whether
 * the cloud decided), which is what must not leave a visit open behind a shut gate.
 */
import { sleep } from './options.ts';

export interface Cloudish {
  httpUrl: string;
  whenUp(): Promise<void>;
}

/** How long one call may take before it counts as lost. */
const CALL_TIMEOUT_MS = 5_000;
/** A code is retried until this long after it was issued (ENTRY_CODE_TTL_S is 30 s); then a new one. */
const CODE_RETRY_MS = 25_000;

export class CloudGone extends Error {}

async function call<T>(
  cloud: Cloudish,
  method: string,
  path: string,
  opts: { body?: unknown; auth?: string },
): Promise<{ status: number; body: T }> {
  try {
    const res = await fetch(`${cloud.httpUrl}${path}`, {
      method,
      headers: {
        ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(opts.auth ? { authorization: opts.auth } : {}),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  } catch (err) {
    throw new CloudGone((err as Error).message);
  }
}

/** A call made until the cloud answers it (not 5xx), waiting for the cloud between attempts. */
export async function persist<T>(
  cloud: Cloudish,
  method: string,
  path: string,
  opts: { body?: unknown; auth?: string } = {},
): Promise<{ status: number; body: T }> {
  for (;;) {
    try {
      const r = await call<T>(cloud, method, path, opts);
      if (r.status < 500) return r;
    } catch (err) {
      if (!(err instanceof CloudGone)) throw err;
    }
    await cloud.whenUp();
    await sleep(50);
  }
}

export interface Shopper {
  id: string;
  token: string;
}

export async function signUp(cloud: Cloudish, run: string, i: number): Promise<Shopper> {
  const up = await persist<{ shopperId: string; accessToken: string }>(cloud, 'POST', '/v1/shoppers', {
    body: {
      email: `kills-${run}-${i}@example.test`,
      password: 'correct horse battery',
      name: `Shopper ${i}`,
    },
  });
  if (up.status !== 201) throw new Error(`sign-up failed: ${up.status} ${JSON.stringify(up.body)}`);
  const card = await persist<{ token: string }>(cloud, 'POST', '/sandbox/v1/tokens', {
    body: { number: '4242424242424242', expMonth: 12, expYear: 2099, cvc: '123' },
  });
  const added = await persist(cloud, 'POST', '/v1/me/payment-methods', {
    auth: `Bearer ${up.body.accessToken}`,
    body: { token: card.body.token },
  });
  if (added.status !== 201) throw new Error(`adding a card failed: ${JSON.stringify(added.body)}`);
  return { id: up.body.shopperId, token: up.body.accessToken };
}

export interface GateStats {
  scans: number;
  opened: number;
  denied: Record<string, number>;
  /** Answers the controller dropped on purpose after the cloud gave them. */
  answersDropped: number;
  /** Dropped answers after which the shopper walked away instead of the gate asking again. */
  walkedAway: number;
  /** Answers lost with the cloud (killed mid-call) or to a timeout. */
  answersLostToKills: number;
  /** Retries of a code whose answer was lost: the original decision again, or something else. */
  retriesOriginal: number;
  retriesReplayed: number;
  retriesOther: number;
  /** Codes given up on (retried past CODE_RETRY_MS); the shopper asked for a new one. */
  codesAbandoned: number;
}

export const newGateStats = (): GateStats => ({
  scans: 0,
  opened: 0,
  denied: {},
  answersDropped: 0,
  walkedAway: 0,
  answersLostToKills: 0,
  retriesOriginal: 0,
  retriesReplayed: 0,
  retriesOther: 0,
  codesAbandoned: 0,
});

interface Decision {
  decision: 'open' | 'deny';
  visitId?: string;
  reason?: string;
}

/**
 * One shopper at one gate until it opens or says no for good: a new code, scanned; a lost answer
 * is retried with the same code. Returns the visit the gate opened, or null.
 */
export async function enter(
  cloud: Cloudish,
  gate: { id: string; auth: string },
  shopper: Shopper,
  /** Whether to drop the cloud's answer, and then whether the gate asks again or the shopper leaves. */
  dropAnswer: () => 'keep' | 'retry' | 'walk away',
  stats: GateStats,
): Promise<string | null> {
  const code = await persist<{ code: string }>(cloud, 'POST', '/v1/me/entry-codes', {
    auth: `Bearer ${shopper.token}`,
    body: { companions: 0 },
  });
  if (code.status !== 201) throw new Error(`entry code refused: ${code.status} ${JSON.stringify(code.body)}`);
  const issued = Date.now();
  let lost: Decision | 'unknown' | null = null;
  for (;;) {
    if (Date.now() - issued > CODE_RETRY_MS) {
      stats.codesAbandoned += 1;
      return null;
    }
    let answer: Decision;
    try {
      stats.scans += 1;
      const r = await call<Decision>(cloud, 'POST', `/v1/gates/${gate.id}/scans`, {
        auth: gate.auth,
        body: { qr: code.body.code },
      });
      if (r.status >= 500) throw new CloudGone(`HTTP ${r.status}`);
      if (r.status !== 200) throw new Error(`gate scan refused: ${r.status} ${JSON.stringify(r.body)}`);
      answer = r.body;
    } catch (err) {
      if (!(err instanceof CloudGone)) throw err;
      stats.answersLostToKills += 1;
      lost ??= 'unknown';
      await cloud.whenUp();
      continue;
    }
    if (lost !== null) {
      const same =
        answer.decision === 'open'
          ? lost === 'unknown' || (lost.decision === 'open' && lost.visitId === answer.visitId)
          : lost !== 'unknown' && lost.decision === 'deny' && lost.reason === answer.reason;
      if (same) stats.retriesOriginal += 1;
      else if (answer.reason === 'replayed') stats.retriesReplayed += 1;
      else stats.retriesOther += 1;
    } else {
      const drop = dropAnswer();
      if (drop !== 'keep') stats.answersDropped += 1;
      if (drop === 'walk away') {
        // The visit the cloud may have opened is reported on by nobody: it must expire.
        stats.walkedAway += 1;
        return null;
      }
      if (drop === 'retry') {
        lost = answer;
        continue;
      }
    }
    if (answer.decision === 'open' && answer.visitId) {
      stats.opened += 1;
      return answer.visitId;
    }
    stats.denied[answer.reason ?? '?'] = (stats.denied[answer.reason ?? '?'] ?? 0) + 1;
    return null;
  }
}
