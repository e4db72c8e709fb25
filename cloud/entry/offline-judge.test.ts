import { describe, expect, it } from 'vitest';
import type { EntryClaims } from './codes.ts';
import { judgeOfflineEntry } from './offline.ts';

const claims: EntryClaims = {
  v: 1,
  sub: '6f1c1c5e-0d0b-4a53-9d0c-0d7c1f0f7a11',
  nonce: 'n'.repeat(22),
  companions: 0,
  iat: 1000,
  exp: 1030,
};
const good = { ok: true as const, claims };
const facts = { aheadMs: 0, skewS: 5, shopperKnown: true, visitIdTaken: false };

describe('judging an entry an edge admitted offline', () => {
  it('admits a good code and flags an expired one, since both name the shopper', () => {
    expect(judgeOfflineEntry(good, facts)).toEqual({ outcome: 'admitted', claims });
    const expired = { ok: false as const, reason: 'expired' as const, detail: 'expired 9 s ago', claims };
    expect(judgeOfflineEntry(expired, facts)).toEqual({ outcome: 'flagged', claims, flag: 'expired' });
  });

  it('refuses what names nobody or cannot be a visit, the clock first', () => {
    const forged = {
      ok: false as const,
      reason: 'bad_signature' as const,
      detail: 'signature verification failed',
    };
    expect(judgeOfflineEntry(forged, facts)).toMatchObject({ outcome: 'refused', reason: /bad signature/ });
    expect(judgeOfflineEntry(good, { ...facts, shopperKnown: false })).toMatchObject({
      outcome: 'refused',
      reason: `no shopper ${claims.sub}`,
    });
    expect(judgeOfflineEntry(good, { ...facts, visitIdTaken: true })).toMatchObject({ outcome: 'refused' });
    expect(judgeOfflineEntry(good, { ...facts, aheadMs: 5_001 })).toMatchObject({
      outcome: 'refused',
      reason: "the edge's clock is 5 s ahead",
    });
    expect(judgeOfflineEntry(good, { ...facts, aheadMs: 5_000 }).outcome).toBe('admitted');
  });
});
