import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { defineTask, PermanentJobError } from '../../jobs/index.ts';
import { classifyStripeError } from '../../stripe/classifyStripeError.ts';
import { syncCustomer } from './syncCustomer.ts';

/**
 * Outbox for billing-profile changes: enqueued in the same transaction as the change, so a
 * saved profile reaches Stripe even when Stripe was down at the time of the request.
 */
export const syncCustomerTask = defineTask({
  name: 'customer.sync',
  payload: z.object({ orgId: z.string() }),
  maxAttempts: 20,
  async run({ orgId }, ctx: { deps: Deps }) {
    try {
      await syncCustomer(ctx.deps, orgId);
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause ?? err;
      if (classifyStripeError(cause) === 'invalid') throw new PermanentJobError(String(err));
      throw err;
    }
  },
});
