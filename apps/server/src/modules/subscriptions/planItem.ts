import type Stripe from 'stripe';

const isMetered = (item: Stripe.SubscriptionItem) => item.price.recurring?.usage_type === 'metered';

/**
 * The subscription's plan item. A subscription may also carry metered add-on items (added when
 * usage is first reported), in any order, so the plan item is the one that is not metered —
 * never simply `items.data[0]`.
 */
export function planItem(sub: Stripe.Subscription): Stripe.SubscriptionItem | undefined {
  return sub.items.data.find((i) => !isMetered(i)) ?? sub.items.data[0];
}

/** The metered add-on items, which a plan change or a schedule phase must carry over. */
export function meteredItems(sub: Stripe.Subscription): Stripe.SubscriptionItem[] {
  return sub.items.data.filter(isMetered);
}
