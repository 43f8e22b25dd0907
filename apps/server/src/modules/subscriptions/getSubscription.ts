import { and, desc, eq, isNull } from 'drizzle-orm';
import { organizations, paymentMethods, subscriptions } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { effectiveBillingState } from '../webhooks/paymentState.ts';
import { presentSubscription } from './presentSubscription.ts';
import { isStale, refreshSubscription } from './refreshSubscription.ts';

/**
 * The org's current subscription from the projection. No Stripe call on this read path unless
 * the projection is visibly behind (a period, trial or scheduled change that is already over).
 */
export async function getSubscription(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock' | 'logger'>,
  orgId: string,
) {
  const first = await readSubscription(deps, orgId);
  if (
    first.row &&
    isStale(first.row, deps.clock.nowMs()) &&
    (await refreshSubscription(deps, orgId, first.row.id))
  )
    return (await readSubscription(deps, orgId)).view;
  return first.view;
}

async function readSubscription(deps: Pick<Deps, 'database' | 'clock'>, orgId: string) {
  return withOrgTx(deps.database, orgId, async (tx) => {
    const [org] = await tx.select().from(organizations).where(eq(organizations.id, orgId));
    if (!org) throw notFound('org');
    const sub = org.subscriptionId
      ? ((await tx.select().from(subscriptions).where(eq(subscriptions.id, org.subscriptionId)))[0] ?? null)
      : null;
    const cards = await tx
      .select()
      .from(paymentMethods)
      .where(and(eq(paymentMethods.orgId, orgId), isNull(paymentMethods.detachedAt)))
      .orderBy(desc(paymentMethods.isDefault));
    const card =
      cards.find((c) => c.id === sub?.defaultPaymentMethodId) ?? cards.find((c) => c.isDefault) ?? null;
    const live = sub && !['canceled', 'incomplete_expired'].includes(sub.status) ? sub : null;
    const billing = {
      state: effectiveBillingState(org, deps.clock.now()),
      graceEndsAt: org.graceEndsAt,
      reason: org.paymentFailureReason,
      actionUrl: org.paymentActionUrl,
    };
    return {
      row: sub,
      view: presentSubscription(live, card, live ? (sub?.planKey ?? org.planKey) : 'free', billing),
    };
  });
}
