import type Stripe from 'stripe';
import type { Deps } from '../../deps.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { getOrg } from '../orgs/getOrg.ts';
import { presentPaymentMethod } from './presentPaymentMethod.ts';
import { saveCardProjection } from './projection.ts';

/** The org's cards, read from Stripe (the source of truth) and stored as summaries. */
export async function listPaymentMethods(deps: Pick<Deps, 'database' | 'stripe' | 'clock'>, orgId: string) {
  const org = await getOrg(deps, orgId);
  if (!org.stripe_customer_id) return [];
  const customerId = org.stripe_customer_id;
  try {
    const [customer, list] = await Promise.all([
      withStripeRetry(() => deps.stripe.customers.retrieve(customerId)),
      withStripeRetry(() =>
        deps.stripe.customers.listPaymentMethods(customerId, { type: 'card', limit: 100 }),
      ),
    ]);
    const defaultId = defaultPaymentMethodOf(customer);
    const cards = list.data.map((pm) => presentPaymentMethod(pm, defaultId));
    await saveCardProjection(deps, orgId, customerId, cards);
    return cards;
  } catch (err) {
    throw stripeErrorToDomain(err, 'listing payment methods');
  }
}

export function defaultPaymentMethodOf(customer: Stripe.Customer | Stripe.DeletedCustomer): string | null {
  if ('deleted' in customer && customer.deleted) return null;
  const d = (customer as Stripe.Customer).invoice_settings?.default_payment_method;
  return typeof d === 'string' ? d : (d?.id ?? null);
}
