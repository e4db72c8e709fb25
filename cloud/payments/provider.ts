/**
 * What the cloud asks of a payment provider. Every call carries an idempotency key: the provider
 * answers a repeated key with the first answer, so a call retried after a timeout or a crash
 * moves money at most once.
 */
export type ProviderOutcome =
  | { outcome: 'succeeded'; ref: string; amountMinor: number }
  | { outcome: 'declined'; code: string; message: string }
  /** The provider could not answer (error, timeout): the same key may be retried. */
  | { outcome: 'failed'; code: string; message: string };

export interface AuthoriseRequest {
  idempotencyKey: string;
  /** The provider's token for the shopper's payment method. */
  token: string;
  amountMinor: number;
  currency: string;
  description: string;
}

export interface CaptureRequest {
  idempotencyKey: string;
  holdRef: string;
  /** At most the held amount. */
  amountMinor: number;
}

export interface ChargeRequest {
  idempotencyKey: string;
  token: string;
  amountMinor: number;
  currency: string;
  description: string;
}

export interface ReleaseRequest {
  idempotencyKey: string;
  holdRef: string;
}

export interface RefundRequest {
  idempotencyKey: string;
  /** A capture's or a charge's ref. */
  paymentRef: string;
  amountMinor: number;
}

export type PaymentStatus = 'held' | 'captured' | 'released' | 'refunded' | 'partially_refunded' | 'unknown';

export interface CardSummary {
  token: string;
  brand: string;
  last4: string;
}

export interface PaymentProvider {
  readonly name: string;
  /** Places a hold (pre-authorisation) of amountMinor. */
  authorise(req: AuthoriseRequest): Promise<ProviderOutcome>;
  capture(req: CaptureRequest): Promise<ProviderOutcome>;
  /** Charges without a hold: what a cart costs beyond its hold. */
  charge(req: ChargeRequest): Promise<ProviderOutcome>;
  release(req: ReleaseRequest): Promise<ProviderOutcome>;
  refund(req: RefundRequest): Promise<ProviderOutcome>;
  status(ref: string): Promise<PaymentStatus>;
  /** What the provider knows of a token the app obtained from it (brand, last four digits). */
  describe(token: string): Promise<CardSummary | null>;
}

/**
 * A provider call that outlives `ms` counts as failed; the call may still complete at the
 * provider, which is why every caller retries with the same idempotency key rather than a new one.
 */
export function withTimeout(provider: PaymentProvider, ms: number): PaymentProvider {
  const bounded =
    <A>(fn: (a: A) => Promise<ProviderOutcome>) =>
    (a: A): Promise<ProviderOutcome> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<ProviderOutcome>((resolve) => {
        timer = setTimeout(
          () =>
            resolve({
              outcome: 'failed',
              code: 'timeout',
              message: `no answer from ${provider.name} in ${ms} ms`,
            }),
          ms,
        );
      });
      const call = fn(a).catch(
        (err: unknown): ProviderOutcome => ({
          outcome: 'failed',
          code: 'error',
          message: (err as Error).message,
        }),
      );
      return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
    };
  return {
    name: provider.name,
    authorise: bounded((r) => provider.authorise(r)),
    capture: bounded((r) => provider.capture(r)),
    charge: bounded((r) => provider.charge(r)),
    release: bounded((r) => provider.release(r)),
    refund: bounded((r) => provider.refund(r)),
    status: (ref) => provider.status(ref),
    describe: (token) => provider.describe(token),
  };
}
