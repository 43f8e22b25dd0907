import type Stripe from 'stripe';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError, type FieldIssue, validationFailed } from '../../http/errors.ts';
import { listCreditProducts } from '../catalog/listCreditProducts.ts';
import { resolvePlanPrice } from '../subscriptions/catalogLookup.ts';
import { getSubscription } from '../subscriptions/getSubscription.ts';
import { findOrgBilling } from './repo.ts';

export interface PlanItem {
  plan: string;
  interval: 'month' | 'year';
  seats: number;
}
export interface PackItem {
  pack: string;
  quantity: number;
}

/** What a subscription-mode session sells: the plan's price, seats, and a trial if the org never had one. */
export async function subscriptionLineItems(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock' | 'logger'>,
  orgId: string,
  choice: PlanItem,
) {
  const current = await getSubscription(deps, orgId);
  if (current.status !== 'none')
    throw new DomainError('conflict', 'the org already has a subscription: change its plan instead', {
      field: 'plan',
      subscription_id: current.id,
    });
  return withOrgTx(deps.database, orgId, async (tx) => {
    const { plan, price } = await resolvePlanPrice(tx, {
      planKey: choice.plan,
      interval: choice.interval,
      seats: choice.seats,
    });
    const org = await findOrgBilling(tx, orgId);
    // Checkout collects a card for autopay; an institution on invoice billing subscribes by invoice.
    if (org?.collectionMethod === 'send_invoice')
      throw new DomainError(
        'conflict',
        'the org pays by invoice: subscribe with POST /v1/orgs/{org}/subscription instead of checkout',
        { field: 'mode' },
      );
    const trialDays = plan.trialDays > 0 && !org?.trialUsedAt ? plan.trialDays : 0;
    const lineItems: Stripe.Checkout.SessionCreateParams.LineItem[] = [
      { price: price.id, quantity: choice.seats },
    ];
    return { plan, price, trialDays, lineItems };
  });
}

/**
 * What a payment-mode session sells: credit packs at their catalog prices. The pack keys and the
 * credits they grant travel in metadata so the credits ledger can grant them when payment lands.
 */
export async function packLineItems(deps: Pick<Deps, 'database'>, items: PackItem[]) {
  const { packs } = await listCreditProducts(deps);
  const byKey = new Map(packs.map((p) => [p.key, p]));
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (!byKey.has(item.pack))
      issues.push({ field: `items.${i}.pack`, message: `unknown credit pack "${item.pack}"`, in: 'body' });
    else if (seen.has(item.pack))
      issues.push({
        field: `items.${i}.pack`,
        message: 'listed twice: raise its quantity instead',
        in: 'body',
      });
    seen.add(item.pack);
  });
  if (issues.length) throw validationFailed(issues);
  const chosen = items.map((item) => ({ ...item, pack: byKey.get(item.pack)! }));
  const currencies = new Set(chosen.map((c) => c.pack.currency));
  if (currencies.size > 1)
    throw validationFailed([{ field: 'items', message: 'packs priced in different currencies', in: 'body' }]);
  const lineItems: Stripe.Checkout.SessionCreateParams.LineItem[] = chosen.map((c) => ({
    price: c.pack.price_id,
    quantity: c.quantity,
  }));
  return {
    lineItems,
    amount: chosen.reduce((sum, c) => sum + c.pack.amount * c.quantity, 0),
    credits: chosen.reduce((sum, c) => sum + c.pack.credits * c.quantity, 0),
    /** `credits_1k:2,credits_10k:1` — compact, within Stripe's 500-character metadata values. */
    packs: chosen.map((c) => `${c.pack.key}:${c.quantity}`).join(','),
    description: chosen.map((c) => `${c.pack.name} × ${c.quantity}`).join(', '),
  };
}
