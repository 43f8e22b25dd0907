import Stripe from 'stripe';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';

/** A payment method attached to this org's customer; anything else (another org's card) is 404. */
export async function ownedPaymentMethod(
  deps: Pick<Deps, 'stripe'>,
  customerId: string | null,
  pmId: string,
) {
  if (!customerId) throw notFound('payment method');
  try {
    const pm = await withStripeRetry(() => deps.stripe.paymentMethods.retrieve(pmId));
    const owner = typeof pm.customer === 'string' ? pm.customer : pm.customer?.id;
    if (owner !== customerId) throw notFound('payment method');
    return pm;
  } catch (err) {
    if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404)
      throw notFound('payment method');
    if (err instanceof Error && err.name === 'DomainError') throw err;
    throw stripeErrorToDomain(err, 'reading the payment method');
  }
}
