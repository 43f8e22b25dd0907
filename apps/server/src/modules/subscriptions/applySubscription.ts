import { eq, sql } from 'drizzle-orm';
import type Stripe from 'stripe';
import type { Tx } from '../../db/client.ts';
import { organizations, subscriptions } from '../../db/schema/index.ts';
import { publishOrgChange } from '../live/publishOrgChange.ts';
import { planItem } from './planItem.ts';
import { findPrice } from './repo.ts';

const toDate = (s: number | null | undefined) => (s ? new Date(s * 1000) : null);
const idOf = (v: string | { id: string } | null | undefined) => (typeof v === 'string' ? v : (v?.id ?? null));

/**
 * Writes the projection of one Stripe subscription (row + the org's billing columns) in the
 * caller's org transaction. `observedAt` (ms) is when the object was read from Stripe: a write
 * observed earlier than the stored one is ignored, so a late or replayed read never regresses
 * newer state. Returns false when it was stale. Every applied write announces
 * `subscription.updated` (live streams, entitlement caches in every process), whichever path
 * applied it: webhook, API call, checkout return or reconciliation.
 */
export async function applySubscription(
  tx: Tx,
  orgId: string,
  sub: Stripe.Subscription,
  observedAt: number,
  extra: {
    pendingPlanKey?: string | null;
    pendingPriceId?: string | null;
    pendingChangeAt?: Date | null;
  } = {},
): Promise<boolean> {
  const item = planItem(sub);
  const priceId = item?.price.id ?? null;
  const price = priceId ? await findPrice(tx, priceId) : null;
  const scheduleId = idOf(sub.schedule as string | { id: string } | null);
  const row = {
    orgId,
    customerId: idOf(sub.customer as string | { id: string })!,
    status: sub.status,
    planKey: price?.refKey ?? item?.price.metadata?.tollgate_plan ?? null,
    priceId,
    interval: item?.price.recurring?.interval ?? null,
    quantity: item?.quantity ?? 1,
    currentPeriodStart: toDate(item?.current_period_start),
    currentPeriodEnd: toDate(item?.current_period_end),
    trialEnd: toDate(sub.trial_end),
    cancelAtPeriodEnd: sub.cancel_at_period_end,
    cancelAt: toDate(sub.cancel_at),
    canceledAt: toDate(sub.canceled_at),
    scheduleId,
    defaultPaymentMethodId: idOf(sub.default_payment_method as string | { id: string } | null),
    latestInvoiceId: idOf(sub.latest_invoice as string | { id: string } | null),
    collectionMethod: sub.collection_method,
    discount: sub.discounts?.length ? (sub.discounts as unknown) : null,
    stripeUpdatedAt: observedAt,
    updatedAt: new Date(),
    ...(scheduleId ? {} : { pendingPlanKey: null, pendingPriceId: null, pendingChangeAt: null }),
    ...extra,
  };
  // A scheduled change that has taken effect is no longer pending (the schedule itself may stay
  // attached for the rest of its last phase).
  if (scheduleId && !('pendingPriceId' in extra)) {
    const [existing] = await tx.select().from(subscriptions).where(eq(subscriptions.id, sub.id));
    if (existing?.pendingPriceId && existing.pendingPriceId === priceId)
      Object.assign(row, { pendingPlanKey: null, pendingPriceId: null, pendingChangeAt: null });
  }
  const written = await tx
    .insert(subscriptions)
    .values({ id: sub.id, ...row, createdAt: toDate(sub.created) ?? new Date() })
    .onConflictDoUpdate({
      target: subscriptions.id,
      set: row,
      where: sql`${subscriptions.stripeUpdatedAt} <= ${observedAt}`,
    })
    .returning({ id: subscriptions.id });
  if (!written.length) return false;
  await publishOrgChange(tx, orgId, {
    type: 'subscription.updated',
    id: sub.id,
    data: {
      subscription: sub.id,
      status: sub.status,
      cancel_at_period_end: sub.cancel_at_period_end,
      price: priceId,
    },
  });

  // The org columns follow the org's current subscription (a newer one replaces an ended one).
  const [org] = await tx.select().from(organizations).where(eq(organizations.id, orgId));
  const ended = ['canceled', 'incomplete_expired'].includes(sub.status);
  if (org && (org.subscriptionId === sub.id || !org.subscriptionId || !ended)) {
    await tx
      .update(organizations)
      .set({
        subscriptionId: sub.id,
        subscriptionStatus: sub.status,
        currentPeriodEnd: row.currentPeriodEnd,
        trialEndsAt: row.trialEnd,
        planKey: ended ? 'free' : (row.planKey ?? org.planKey),
        updatedAt: new Date(),
      })
      .where(eq(organizations.id, orgId));
  }
  return true;
}
