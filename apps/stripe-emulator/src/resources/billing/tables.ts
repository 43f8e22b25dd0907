/**
 * Billing tables: subscriptions (+ their items), invoices (+ lines), invoice items, invoice
 * payments, discounts and subscription schedules. Rows are the wire shape for
 * 2026-10-28.endive, typed with the SDK's own types; decimal fields travel as strings (the SDK
 * turns them into Decimal objects), so those few fields are re-typed here.
 */
import type Stripe from 'stripe';
import type { ListObject } from '../../core/list.ts';
import { defineTable } from '../../core/store.ts';
import type { PriceRow } from '../catalog/tables.ts';

/** Stripe.Plan as it travels on the wire (decimal as string, tiers only when expanded). */
export type PlanRow = Omit<Stripe.Plan, 'amount_decimal' | 'tiers'> & { amount_decimal: string | null };

export type SubscriptionItemRow = Omit<Stripe.SubscriptionItem, 'price' | 'plan'> & {
  price: PriceRow;
  plan: PlanRow;
};

export type SubscriptionRow = Omit<Stripe.Subscription, 'items'> & { items: ListObject<SubscriptionItemRow> };

export interface SubscriptionMeta {
  /** The create / update call is still running: status changes are folded into its one event. */
  busy?: boolean;
  /** The first invoice (subscription_create), voided when the subscription expires incomplete. */
  firstInvoice?: string;
  /** trial_will_end was announced for this trial_end. */
  trialWillEndSentFor?: number;
  /** Items to apply once the invoice of a pending_if_incomplete update is paid. */
  pendingItems?: SubscriptionItemRow[];
  pendingInvoice?: string;
}

export const Subscriptions = defineTable<SubscriptionRow, SubscriptionMeta>({
  object: 'subscription',
  prefix: 'sub',
});

export const SubscriptionItems = defineTable<SubscriptionItemRow>({
  object: 'subscription_item',
  prefix: 'si',
  name: 'subscription item',
});

/** Invoice line / invoice item pricing on the wire (unit_amount_decimal as a string). */
export interface PricingRow {
  price_details?: { price: string; product: string };
  type: 'price_details';
  unit_amount_decimal: string | null;
}

export type LineRow = Omit<Stripe.InvoiceLineItem, 'quantity_decimal' | 'pricing'> & {
  quantity_decimal: string | null;
  pricing: PricingRow | null;
};

export type InvoiceRow = Omit<Stripe.Invoice, 'lines'> & { lines: ListObject<LineRow> };

export interface InvoiceMeta {
  /** Every line (the row embeds the first 10, like Stripe). */
  lines: LineRow[];
  /** The PaymentIntent collecting this invoice. */
  paymentIntent?: string;
  /** Its invoice_payment record. */
  invoicePayment?: string;
  /** Dunning: time of the first failed automatic attempt, and retries done since. */
  firstFailureAt?: number;
  retriesDone?: number;
  /** The last failure cannot be retried (hard decline, no payment method). */
  noRetry?: boolean;
  /** Retries ran out and the end-of-dunning action was applied. */
  dunningEnded?: boolean;
}

export const Invoices = defineTable<InvoiceRow, InvoiceMeta>({ object: 'invoice', prefix: 'in' });

export type InvoiceItemRow = Omit<Stripe.InvoiceItem, 'quantity_decimal' | 'pricing'> & {
  quantity_decimal: string;
  pricing: PricingRow | null;
};

export const InvoiceItems = defineTable<InvoiceItemRow>({
  object: 'invoiceitem',
  prefix: 'ii',
  name: 'invoiceitem',
});

export const InvoicePayments = defineTable<Stripe.InvoicePayment>({
  object: 'invoice_payment',
  prefix: 'inpay',
  name: 'invoice payment',
});

export interface DiscountMeta {
  /** Invoices this discount was applied to (a `once` coupon stops after the first). */
  invoices: string[];
}

export const Discounts = defineTable<Stripe.Discount, DiscountMeta>({ object: 'discount', prefix: 'di' });

export type ScheduleRow = Stripe.SubscriptionSchedule;

export const SubscriptionSchedules = defineTable<ScheduleRow>({
  object: 'subscription_schedule',
  prefix: 'sub_sched',
  name: 'subscription schedule',
});
