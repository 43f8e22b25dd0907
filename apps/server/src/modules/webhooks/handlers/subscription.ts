import { eq } from 'drizzle-orm';
import { organizations } from '../../../db/schema/index.ts';
import { withOrgTx } from '../../../db/tx.ts';
import { applyCreditPayment } from '../../credits/applyCreditPayment.ts';
import { enqueueEmail } from '../../emails/enqueueEmail.ts';
import { billingUrl } from '../../emails/links.ts';
import { emitOutgoing } from '../../outgoing-webhooks/emitOutgoing.ts';
import { applySubscription } from '../../subscriptions/applySubscription.ts';
import { planItem } from '../../subscriptions/planItem.ts';
import { type Handler, idOf } from './context.ts';

/**
 * Subscription events: the subscription is re-read from Stripe and applied, so whatever order
 * events arrive in, the projection ends at Stripe's current state (never an older one).
 */
export const onSubscription: Handler = async ({ deps, event, orgId, object }) => {
  const id = idOf(object.id);
  if (!id) return 'ignored';
  const sub = await deps.stripe.subscriptions.retrieve(id);
  await withOrgTx(deps.database, orgId, async (tx) => {
    // Announces the change itself (live streams, entitlement caches) when it was not stale.
    await applySubscription(tx, orgId, sub, deps.clock.nowMs());
    const data = {
      subscription: sub.id,
      status: sub.status,
      cancel_at_period_end: sub.cancel_at_period_end,
      price: planItem(sub)?.price.id ?? null,
    };
    if (event.type.startsWith('customer.subscription.'))
      await emitOutgoing(tx, {
        orgId,
        type: 'subscription.updated',
        causeKey: `subscription:${event.id}`,
        data: { ...data, stripe_event: event.type },
      });
    // Once per trial (its end time): a redelivered, replayed or re-announced event sends nothing more.
    if (event.type === 'customer.subscription.trial_will_end' && sub.status === 'trialing' && sub.trial_end)
      await enqueueEmail(tx, {
        causeKey: `email.trial_ending:${sub.id}:${sub.trial_end}`,
        orgId,
        template: 'trial_ending',
        data: {
          plan: sub.items.data[0]?.price.nickname ?? sub.items.data[0]?.price.lookup_key ?? null,
          trialEndsAt: new Date(sub.trial_end * 1000).toISOString(),
          billingUrl: billingUrl(deps.env, orgId),
        },
      });
    if (sub.status === 'trialing')
      await tx
        .update(organizations)
        .set({ trialUsedAt: deps.clock.now() })
        .where(eq(organizations.id, orgId));
  });
  return 'applied';
};

/** Checkout completion carries the new subscription (subscription mode) or a paid one-off. */
export const onCheckoutSession: Handler = async (ctx) => {
  const subId = idOf(ctx.object.subscription);
  if (subId) return onSubscription({ ...ctx, object: { id: subId } });
  // Payment mode: credit packs, granted once paid.
  await applyCreditPayment(ctx.deps, ctx.orgId, ctx.event.type, ctx.object);
  return 'applied';
};
