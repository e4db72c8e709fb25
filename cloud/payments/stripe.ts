import type { CardSummary, PaymentProvider, PaymentStatus, ProviderOutcome } from './provider.ts';

export interface StripeOptions {
  apiKey: string;
  /** https://api.stripe.com in production; stripe-mock's address in tests. */
  baseUrl?: string;
  fetch?: typeof fetch;
}

interface StripeError {
  error?: { type?: string; code?: string; decline_code?: string; message?: string };
}

type Json = Record<string, unknown>;

/** Stripe's form encoding, nested keys as a[b]=c. */
function form(
  params: Record<string, string | number | boolean | undefined | Record<string, string>>,
): string {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (typeof v === 'object') for (const [sk, sv] of Object.entries(v)) out.append(`${k}[${sk}]`, sv);
    else out.append(k, String(v));
  }
  return out.toString();
}

/**
 * Stripe through PaymentIntents: a hold is an intent confirmed with manual capture, a capture
 * takes up to the held amount, a release cancels the intent, a charge beyond the hold is a second
 * intent captured at once. Every call carries the cloud's idempotency key as Stripe's
 * Idempotency-Key, so Stripe replays its first answer to a retried call.
 */
export function createStripeProvider(opts: StripeOptions): PaymentProvider {
  const base = (opts.baseUrl ?? 'https://api.stripe.com').replace(/\/$/, '');
  const doFetch = opts.fetch ?? fetch;

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    idempotencyKey?: string,
  ): Promise<{ status: number; json: Json & StripeError }> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${opts.apiKey}`,
      'stripe-version': '2024-06-20',
    };
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    const res = await doFetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    return { status: res.status, json: (await res.json()) as Json & StripeError };
  }

  /** 402 is a card's refusal; other 4xx are our mistakes; 5xx and network errors may be retried. */
  async function outcome(
    path: string,
    params: Parameters<typeof form>[0],
    key: string,
    accept: readonly string[],
    amount: (j: Json) => number,
  ): Promise<ProviderOutcome> {
    let r: Awaited<ReturnType<typeof call>>;
    try {
      r = await call('POST', path, form(params), key);
    } catch (err) {
      return { outcome: 'failed', code: 'network', message: (err as Error).message };
    }
    const e = r.json.error;
    if (r.status === 402 || e?.type === 'card_error') {
      return {
        outcome: 'declined',
        code: e?.decline_code ?? e?.code ?? 'card_declined',
        message: e?.message ?? 'declined',
      };
    }
    if (r.status >= 500 || r.status === 429 || r.status === 409) {
      return { outcome: 'failed', code: `http_${r.status}`, message: e?.message ?? 'Stripe unavailable' };
    }
    if (r.status >= 400) {
      return {
        outcome: 'declined',
        code: e?.code ?? `http_${r.status}`,
        message: e?.message ?? 'request refused',
      };
    }
    const status = String(r.json.status ?? '');
    if (!accept.includes(status)) {
      return { outcome: 'declined', code: `status_${status}`, message: `payment intent is ${status}` };
    }
    return { outcome: 'succeeded', ref: String(r.json.id), amountMinor: amount(r.json) };
  }

  return {
    name: 'stripe',
    authorise: (r) =>
      outcome(
        '/v1/payment_intents',
        {
          amount: r.amountMinor,
          currency: r.currency.toLowerCase(),
          payment_method: r.token,
          capture_method: 'manual',
          confirm: true,
          off_session: true,
          description: r.description,
        },
        r.idempotencyKey,
        ['requires_capture'],
        (j) => Number(j.amount),
      ),
    capture: (r) =>
      outcome(
        `/v1/payment_intents/${encodeURIComponent(r.holdRef)}/capture`,
        { amount_to_capture: r.amountMinor },
        r.idempotencyKey,
        ['succeeded'],
        (j) => Number(j.amount_received ?? r.amountMinor),
      ),
    charge: (r) =>
      outcome(
        '/v1/payment_intents',
        {
          amount: r.amountMinor,
          currency: r.currency.toLowerCase(),
          payment_method: r.token,
          confirm: true,
          off_session: true,
          description: r.description,
        },
        r.idempotencyKey,
        ['succeeded'],
        (j) => Number(j.amount_received ?? r.amountMinor),
      ),
    release: (r) =>
      outcome(
        `/v1/payment_intents/${encodeURIComponent(r.holdRef)}/cancel`,
        {},
        r.idempotencyKey,
        ['canceled'],
        () => 0,
      ),
    refund: (r) =>
      outcome(
        '/v1/refunds',
        { payment_intent: r.paymentRef, amount: r.amountMinor },
        r.idempotencyKey,
        ['succeeded', 'pending'],
        (j) => Number(j.amount),
      ),
    status: async (ref): Promise<PaymentStatus> => {
      const r = await call('GET', `/v1/payment_intents/${encodeURIComponent(ref)}`);
      if (r.status !== 200) return 'unknown';
      const s = String(r.json.status);
      if (s === 'requires_capture') return 'held';
      if (s === 'canceled') return 'released';
      if (s === 'succeeded') return 'captured';
      return 'unknown';
    },
    describe: async (token): Promise<CardSummary | null> => {
      const r = await call('GET', `/v1/payment_methods/${encodeURIComponent(token)}`);
      const card = r.json.card as { brand?: string; last4?: string } | undefined;
      if (r.status !== 200 || !card?.last4) return null;
      return { token, brand: card.brand ?? 'card', last4: card.last4 };
    },
  };
}
