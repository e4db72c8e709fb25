import { randomBytes } from 'node:crypto';

/**
 * The sandbox provider's test cards. Like a real provider's test mode, the card number alone
 * decides what happens to every payment made with it.
 */
export const SANDBOX_CARDS = {
  '4242424242424242': 'succeeds',
  '4000000000000002': 'declines',
  '4000000000009995': 'insufficient_funds',
  '4000000000000119': 'fails',
  '4000000000006975': 'times_out',
  /** Holds are placed, but captures and charges are declined: how a balance comes to be due. */
  '4000000000000341': 'capture_declines',
} as const;

export type SandboxBehaviour = (typeof SANDBOX_CARDS)[keyof typeof SANDBOX_CARDS];
const BEHAVIOURS = new Set<string>(Object.values(SANDBOX_CARDS));

export interface CardDetails {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

/** What tokenising a card at the provider answers; the token is all the cloud ever sees. */
export type Tokenised =
  | { ok: true; token: string; brand: string; last4: string }
  | { ok: false; code: 'unknown_test_card' | 'expired_card'; message: string };

export function tokeniseCard(card: CardDetails, now: Date): Tokenised {
  const number = card.number.replace(/[\s-]/g, '');
  const behaviour = SANDBOX_CARDS[number as keyof typeof SANDBOX_CARDS];
  if (!behaviour) {
    return {
      ok: false,
      code: 'unknown_test_card',
      message: `the sandbox takes only its test cards (${Object.keys(SANDBOX_CARDS).join(', ')})`,
    };
  }
  const endOfExpiry = Date.UTC(card.expYear, card.expMonth, 1);
  if (endOfExpiry <= now.getTime())
    return { ok: false, code: 'expired_card', message: 'the card has expired' };
  const last4 = number.slice(-4);
  return {
    ok: true,
    token: `sbx_${behaviour}_${last4}_${randomBytes(9).toString('base64url')}`,
    brand: 'visa',
    last4,
  };
}

export function parseSandboxToken(token: string): { behaviour: SandboxBehaviour; last4: string } | null {
  const m = /^sbx_([a-z_]+)_(\d{4})_[A-Za-z0-9_-]{12}$/.exec(token);
  if (!m || !BEHAVIOURS.has(m[1]!)) return null;
  return { behaviour: m[1] as SandboxBehaviour, last4: m[2]! };
}
