import { describe, expect, it } from 'vitest';
import { type EntryFacts, isSameGateRetry, precheckEntry } from './decide.ts';

const facts = (over: Partial<EntryFacts> = {}): EntryFacts => ({
  code: { ok: true },
  replayed: false,
  store: { isOpen: true, capacity: null, inside: 0 },
  party: 1,
  shopper: { hasPaymentMethod: true, unpaidMinor: 0, insideAlready: false },
  ...over,
});

describe('the entry policy', () => {
  it('denies a shopper already in a visit, after who they are and before how they pay', () => {
    const inside = { hasPaymentMethod: false, unpaidMinor: 500, insideAlready: true };
    expect(precheckEntry(facts({ shopper: inside }))).toEqual({ open: false, reason: 'already_inside' });
    expect(precheckEntry(facts({ shopper: inside, replayed: true }))).toEqual({
      open: false,
      reason: 'replayed',
    });
    expect(precheckEntry(facts({ shopper: null }))).toEqual({ open: false, reason: 'unknown_shopper' });
    expect(precheckEntry(facts())).toEqual({ open: true });
  });

  it('answers again only the gate that opened, while the visit is open', () => {
    const prior = { visitId: 'v', gateId: 'g1', storeId: 's', visitStatus: 'open', party: 2 };
    expect(isSameGateRetry(prior, { storeId: 's', gateId: 'g1' })).toBe(true);
    expect(isSameGateRetry(prior, { storeId: 's', gateId: 'g2' })).toBe(false);
    expect(isSameGateRetry(prior, { storeId: 't', gateId: 'g1' })).toBe(false);
    for (const visitStatus of ['closed', 'settled', 'expired', 'cancelled'])
      expect(isSameGateRetry({ ...prior, visitStatus }, { storeId: 's', gateId: 'g1' })).toBe(false);
  });
});
