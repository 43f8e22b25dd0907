import { eq } from 'drizzle-orm';
import { organizations } from '../../../db/schema/index.ts';
import { withOrgTx } from '../../../db/tx.ts';
import { applySubscription } from '../../subscriptions/applySubscription.ts';
import { type Handler, idOf } from './context.ts';

/**
 * Subscription events: the subscription is re-read from Stripe and applied, so whatever order
 * events arrive in, the projection ends at Stripe's current state (never an older one).
 */
export const onSubscription: Handler = async ({ deps, orgId, object }) => {
  const id = idOf(object.id);
  if (!id) return 'ignored';
  const sub = await deps.stripe.subscriptions.retrieve(id);
  await withOrgTx(deps.database, orgId, async (tx) => {
    await applySubscription(tx, orgId, sub, deps.clock.nowMs());
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
  return 'applied';
};
