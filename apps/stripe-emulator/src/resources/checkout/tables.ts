/**
 * Checkout Sessions. Line items are only returned when expanded (`expand[]=line_items`) or
 * listed (`/v1/checkout/sessions/:id/line_items`), like Stripe, so they live in the meta
 * together with the parameters that are used when the session completes.
 */
import type Stripe from 'stripe';
import { defineTable } from '../../core/store.ts';
import type { PriceRow } from '../catalog/tables.ts';

/** A Checkout line item (`object: 'item'`) with its price as stored (wire shape). */
export type CheckoutLineItem = Omit<Stripe.LineItem, 'price'> & { price: PriceRow | null };

export interface SubscriptionDataInput {
  description?: string;
  metadata?: Stripe.Metadata;
  trial_period_days?: number;
  trial_end?: number;
  trial_settings?: { end_behavior: { missing_payment_method: 'cancel' | 'create_invoice' | 'pause' } };
  billing_cycle_anchor?: number;
  proration_behavior?: 'create_prorations' | 'none';
  default_tax_rates?: string[];
}

export interface PaymentIntentDataInput {
  capture_method?: 'automatic' | 'automatic_async' | 'manual';
  description?: string;
  metadata?: Stripe.Metadata;
  receipt_email?: string;
  setup_future_usage?: 'off_session' | 'on_session';
  statement_descriptor?: string;
  statement_descriptor_suffix?: string;
}

export interface SetupIntentDataInput {
  description?: string;
  metadata?: Stripe.Metadata;
}

/** Who paid, as entered on the page; kept between a declined attempt and the next. */
export interface PendingPayer {
  email: string | null;
  name: string | null;
  address: Stripe.Address | null;
  /** A customer created for this session (reused after a declined attempt). */
  customer?: string;
}

export interface CheckoutSessionMeta {
  lineItems: CheckoutLineItem[];
  subscriptionData?: SubscriptionDataInput;
  paymentIntentData?: PaymentIntentDataInput;
  setupIntentData?: SetupIntentDataInput;
  /** Coupon each `discounts[]` entry resolved to (promotion codes included). */
  coupons: string[];
  payer?: PendingPayer;
  /** Subscription mode: the subscription created by an attempt whose first payment is pending. */
  pendingSubscription?: string;
}

export const CheckoutSessions = defineTable<Stripe.Checkout.Session, CheckoutSessionMeta>({
  object: 'checkout.session',
  prefix: 'cs_test',
  name: 'checkout.session',
});
