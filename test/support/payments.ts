import type { PaymentProvider } from '../../cloud/payments/provider.ts';

/**
 * The provider places the hold, then the process dies before its answer is recorded: what a
 * SIGKILL between the provider's answer and the cloud's write leaves behind.
 */
export function diesAfterAuthorise(real: PaymentProvider): PaymentProvider {
  return {
    ...real,
    authorise: async (r) => {
      await real.authorise(r);
      throw new Error('the process died here');
    },
  };
}
