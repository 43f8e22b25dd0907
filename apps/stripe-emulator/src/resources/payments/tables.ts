/**
 * Payment tables. Kept apart from the route files so any module can import them without
 * import cycles.
 */
import type Stripe from 'stripe';
import { defineTable } from '../../core/store.ts';
import type { CardBehaviour } from './cards.ts';

/** Internal facts about a card PaymentMethod; never rendered (no number, no CVC stored). */
export interface PaymentMethodMeta {
  behaviour: CardBehaviour;
  /** Set up for off-session use by a succeeded SetupIntent / setup_future_usage payment. */
  offSessionReady?: boolean;
}

export const PaymentMethods = defineTable<Stripe.PaymentMethod, PaymentMethodMeta>({
  object: 'payment_method',
  prefix: 'pm',
  name: 'PaymentMethod',
});

/** Who created a PaymentIntent and wants to hear about it (e.g. `{ object: 'invoice', id }`). */
export interface IntentOwner {
  object: string;
  id: string;
}

export interface PaymentIntentMeta {
  owner?: IntentOwner;
  /** 3-D Secure was completed for the current confirmation attempt. */
  authenticated?: boolean;
}

export const PaymentIntents = defineTable<Stripe.PaymentIntent, PaymentIntentMeta>({
  object: 'payment_intent',
  prefix: 'pi',
  name: 'payment_intent',
});

export interface SetupIntentMeta {
  owner?: IntentOwner;
  authenticated?: boolean;
}

export const SetupIntents = defineTable<Stripe.SetupIntent, SetupIntentMeta>({
  object: 'setup_intent',
  prefix: 'seti',
  name: 'setupintent',
});

export const Charges = defineTable<Stripe.Charge>({ object: 'charge', prefix: 'ch', name: 'charge' });
export const Refunds = defineTable<Stripe.Refund>({ object: 'refund', prefix: 're', name: 'refund' });
