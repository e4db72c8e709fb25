import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeMock } from '../../test/support/stripe-mock.ts';
import type { ProviderOutcome } from './provider.ts';
import { createStripeProvider } from './stripe.ts';

let mock: Awaited<ReturnType<typeof startStripeMock>>;
beforeAll(async () => {
  mock = await startStripeMock();
}, 300_000);
afterAll(() => mock?.stop());

describe('the Stripe adapter', () => {
  it('sends requests stripe-mock accepts as valid Stripe API calls, each POST with its idempotency key', async () => {
    const seen: Array<{ method: string; path: string; key: string | null }> = [];
    const stripe = createStripeProvider({
      apiKey: 'sk_test_123',
      baseUrl: mock.url,
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        seen.push({
          method: init?.method ?? 'GET',
          path: new URL(String(input)).pathname,
          key: headers.get('idempotency-key'),
        });
        return fetch(input, init);
      },
    });
    // stripe-mock answers every valid call with a fixture whose status is not the one a real
    // account would reach, so "accepted" here means: not refused as an invalid request.
    const accepted = (o: ProviderOutcome) =>
      o.outcome === 'succeeded' || (o.outcome === 'declined' && o.code.startsWith('status_'));
    const results = [
      await stripe.authorise({
        idempotencyKey: 'hold:v1',
        token: 'pm_card_visa',
        amountMinor: 5000,
        currency: 'EUR',
        description: 'visit v1',
      }),
      await stripe.capture({ idempotencyKey: 'capture:v1', holdRef: 'pi_123', amountMinor: 1234 }),
      await stripe.charge({
        idempotencyKey: 'charge:v1',
        token: 'pm_card_visa',
        amountMinor: 700,
        currency: 'EUR',
        description: 'beyond the hold',
      }),
      await stripe.release({ idempotencyKey: 'release:v1', holdRef: 'pi_123' }),
      await stripe.refund({ idempotencyKey: 'refund:d1:capture', paymentRef: 'pi_123', amountMinor: 300 }),
    ];
    for (const r of results) expect(accepted(r), JSON.stringify(r)).toBe(true);
    expect(seen.filter((s) => s.method === 'POST').map((s) => s.key)).toEqual([
      'hold:v1',
      'capture:v1',
      'charge:v1',
      'release:v1',
      'refund:d1:capture',
    ]);
    expect(await stripe.describe('pm_123')).toMatchObject({ brand: 'visa', last4: '4242' });
  });

  it('reads what Stripe answers (recorded responses): a hold, a declined card, an outage, a lost connection', async () => {
    const recorded = (status: number, body: unknown) => async () =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    const provider = (f: typeof fetch) => createStripeProvider({ apiKey: 'sk_test_x', fetch: f });
    const hold = {
      idempotencyKey: 'hold:v2',
      token: 'pm_x',
      amountMinor: 5000,
      currency: 'EUR',
      description: 'v2',
    };

    expect(
      await provider(
        recorded(200, { id: 'pi_3Q', object: 'payment_intent', status: 'requires_capture', amount: 5000 }),
      ).authorise(hold),
    ).toEqual({
      outcome: 'succeeded',
      ref: 'pi_3Q',
      amountMinor: 5000,
    });
    const declined = await provider(
      recorded(402, {
        error: {
          type: 'card_error',
          code: 'card_declined',
          decline_code: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
        },
      }),
    ).authorise(hold);
    expect(declined).toMatchObject({ outcome: 'declined', code: 'insufficient_funds' });
    expect(
      await provider(recorded(500, { error: { type: 'api_error', message: 'boom' } })).authorise(hold),
    ).toMatchObject({
      outcome: 'failed',
      code: 'http_500',
    });
    const lost = provider(async () => {
      throw new TypeError('fetch failed');
    });
    expect(await lost.authorise(hold)).toMatchObject({ outcome: 'failed', code: 'network' });
  });
});
