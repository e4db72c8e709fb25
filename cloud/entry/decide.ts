/**
 * The gate's answer to one scan, from facts gathered by the caller. Pure: the order of the checks
 * is the policy, and each denial names the first rule the scan broke.
 */
export const DENY_REASONS = [
  'bad_signature',
  'expired',
  'replayed',
  'unknown_store',
  'store_closed',
  'capacity',
  'unknown_shopper',
  'already_inside',
  'no_payment_method',
  'unpaid_balance',
] as const;
export type DenyReason = (typeof DENY_REASONS)[number];

export interface EntryFacts {
  code: { ok: true } | { ok: false; reason: 'bad_signature' | 'expired' };
  /** The nonce already opened a gate. */
  replayed: boolean;
  store: { isOpen: boolean; capacity: number | null; inside: number } | null;
  /** People the code lets in: the payer and their companions. */
  party: number;
  /** insideAlready: the shopper has an open visit (in any store): one visit at a time. */
  shopper: { hasPaymentMethod: boolean; unpaidMinor: number; insideAlready: boolean } | null;
}

export type Precheck = { open: true } | { open: false; reason: DenyReason };

/** Whether the gate opens; the hold is asked for after it has (entry/hold.ts). */
export function precheckEntry(f: EntryFacts): Precheck {
  if (!f.code.ok) return { open: false, reason: f.code.reason };
  if (f.replayed) return { open: false, reason: 'replayed' };
  if (!f.store) return { open: false, reason: 'unknown_store' };
  if (!f.store.isOpen) return { open: false, reason: 'store_closed' };
  if (f.store.capacity !== null && f.store.inside + f.party > f.store.capacity)
    return { open: false, reason: 'capacity' };
  if (!f.shopper) return { open: false, reason: 'unknown_shopper' };
  if (f.shopper.insideAlready) return { open: false, reason: 'already_inside' };
  if (!f.shopper.hasPaymentMethod) return { open: false, reason: 'no_payment_method' };
  if (f.shopper.unpaidMinor > 0) return { open: false, reason: 'unpaid_balance' };
  return { open: true };
}

/** What the shopper sees on the gate's display: short, and telling them what to do. */
export const DENY_MESSAGES: Record<DenyReason, string> = {
  bad_signature: 'This code is not valid. Open the Walkout app and show the code it displays.',
  expired: 'This code has expired. Show the fresh code in your app.',
  replayed: 'This code was already used. Show the fresh code in your app.',
  unknown_store: 'This gate is not set up. Please ask staff.',
  store_closed: 'The store is closed.',
  capacity: 'The store is full right now. Please wait a moment.',
  unknown_shopper: 'Your account was not found. Sign in to the app again.',
  already_inside: 'You are already in a visit. Leave through the exit gate before entering again.',
  no_payment_method: 'Add a payment method in the app to enter.',
  unpaid_balance: 'Please settle the balance from your last visit in the app.',
};

/** Where a code's nonce was redeemed: the visit it opened and the gate that opened it. */
export interface Redemption {
  visitId: string;
  gateId: string;
  storeId: string;
  visitStatus: string;
  party: number;
}

/**
 * Whether a scan of a code already redeemed is its gate asking again (its answer lost to a crash
 * or a timeout, or the payer scanning once for each member of the party): then it gets the first
 * answer, the same visit, and nothing is created. Another gate, or a visit no longer open (the
 * party has left, or it expired), is a replay. The caller bounds the time: the code's life plus
 * GATE_RETRY_WINDOW_S.
 */
export function isSameGateRetry(prior: Redemption, scan: { storeId: string; gateId: string }): boolean {
  return prior.storeId === scan.storeId && prior.gateId === scan.gateId && prior.visitStatus === 'open';
}
