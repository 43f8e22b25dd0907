/**
 * The portal's view of subscriptions (owned by the billing module): find one, list a
 * customer's. Kept in one file so the portal depends on billing in one place.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';

export function findSubscription(ctx: Emulator, id: string): Stripe.Subscription | undefined {
  const found = ctx.store.findById(id);
  return found?.row.object === 'subscription' ? (found.row as unknown as Stripe.Subscription) : undefined;
}
