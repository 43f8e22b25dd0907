/**
 * Subscription-mode Checkout: creating the subscription once the card is attached. The
 * subscription itself belongs to the billing module (src/resources/billing/); this file is
 * the only place checkout touches it.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { invalidRequest, type StripeApiError } from '../../http/errors.ts';
import type { CheckoutSessionMeta } from './tables.ts';

export interface StartedSubscription {
  subscription: string | null;
  /** The subscription's first invoice. */
  invoice: string | null;
  /** The first payment went through (or nothing was due): the session completes now. */
  complete: boolean;
  /** The 402 of a declined first payment (the session stays open). */
  failure?: StripeApiError;
}

export function startCheckoutSubscription(
  _ctx: Emulator,
  _session: Stripe.Checkout.Session,
  _meta: CheckoutSessionMeta,
  _payer: { customer: string; paymentMethod: string },
): StartedSubscription {
  throw invalidRequest(
    'Subscription-mode Checkout Sessions cannot be completed yet: the emulator has no subscriptions module.',
    undefined,
    'emulator_unsupported',
  );
}
