import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type PlanChoice, resolvePlanPrice } from './catalogLookup.ts';
import { planItem } from './planItem.ts';
import { findLiveSubscription, findPrice } from './repo.ts';

/**
 * The org's live subscription as Stripe has it now (fresh, not the projection: a change is
 * computed against the truth), plus the current and the requested catalog prices.
 */
export async function loadChangeContext(
  deps: Pick<Deps, 'database' | 'stripe'>,
  orgId: string,
  choice: PlanChoice,
) {
  const local = await withOrgTx(deps.database, orgId, async (tx) => {
    const row = await findLiveSubscription(tx, orgId);
    if (!row)
      throw new DomainError('conflict', 'the org has no subscription: subscribe first', { field: 'plan' });
    const current = row.priceId ? await findPrice(tx, row.priceId) : null;
    const next = await resolvePlanPrice(tx, choice);
    return { row, current, next };
  });
  try {
    const sub = await withStripeRetry(() => deps.stripe.subscriptions.retrieve(local.row.id));
    const item = planItem(sub);
    if (!item) throw new DomainError('internal', 'subscription has no items');
    return { ...local, sub, item };
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw stripeErrorToDomain(err, 'reading the subscription');
  }
}
