import type { Deps } from '../../deps.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { currentSubscription } from '../subscriptions/currentSubscription.ts';

/**
 * Puts a metered price on the org's live subscription if it is not there yet, so Stripe bills
 * the meter's usage on the subscription's invoices. Added on first use rather than at subscribe,
 * so subscriptions without add-on usage stay single-item. The idempotency key names the
 * subscription and price: concurrent reporters create one item. No live subscription: nothing
 * to attach to (the usage API refuses add-on usage then; overage needs a plan anyway).
 */
export async function ensureMeteredItem(
  deps: Pick<Deps, 'database' | 'stripe'>,
  orgId: string,
  priceId: string,
): Promise<void> {
  const sub = await currentSubscription(deps, orgId);
  if (!sub) return;
  const live = await withStripeRetry(() => deps.stripe.subscriptions.retrieve(sub.id));
  if (live.items.data.some((i) => i.price.id === priceId)) return;
  await withStripeRetry(() =>
    deps.stripe.subscriptionItems.create(
      { subscription: sub.id, price: priceId },
      { idempotencyKey: idempotencyKey(orgId, 'subscription.metered_item', sub.id, priceId) },
    ),
  );
}
