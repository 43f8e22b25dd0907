/**
 * The portal's use of the billing module: find and list a customer's subscriptions and
 * invoices, and cancel a subscription the way the portal configuration says — through the
 * same functions as `POST /v1/subscriptions/:id` and `DELETE /v1/subscriptions/:id`, so the
 * events are the same as the API's.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { invalidRequest } from '../../http/errors.ts';
import { cancelSubscription, updateSubscription } from '../billing/subscription-ops.ts';
import { type InvoiceRow, Invoices, type SubscriptionRow, Subscriptions } from '../billing/tables.ts';

export function findSubscription(ctx: Emulator, id: string): SubscriptionRow | undefined {
  return ctx.store.of(Subscriptions).get(id);
}

export function customerSubscriptions(ctx: Emulator, customer: string): SubscriptionRow[] {
  return ctx.store.of(Subscriptions).sorted((s) => s.customer === customer);
}

export function customerInvoices(ctx: Emulator, customer: string): InvoiceRow[] {
  return ctx.store.of(Invoices).sorted((i) => i.customer === customer && i.status !== 'draft');
}

export type CancellationFeedback =
  | 'customer_service'
  | 'low_quality'
  | 'missing_features'
  | 'other'
  | 'switched_service'
  | 'too_complex'
  | 'too_expensive'
  | 'unused';

const ENDED = new Set(['canceled', 'incomplete_expired']);

/** Can the customer cancel it from the portal (not ended, not already set to cancel)? */
export function cancellable(sub: SubscriptionRow): boolean {
  return !ENDED.has(sub.status) && !sub.cancel_at_period_end && sub.cancel_at === null;
}

/** Cancel as the configuration's subscription_cancel feature says (mode, proration). */
export function cancelFromPortal(
  ctx: Emulator,
  sub: SubscriptionRow,
  feature: Stripe.BillingPortal.Configuration.Features.SubscriptionCancel,
  feedback?: CancellationFeedback,
): SubscriptionRow {
  if (!feature.enabled) throw invalidRequest('Cancelling subscriptions is not enabled in this portal.');
  if (!cancellable(sub)) throw invalidRequest(`The subscription ${sub.id} cannot be canceled.`);
  if (feature.mode === 'at_period_end') {
    return updateSubscription(ctx, sub, {
      cancel_at_period_end: true,
      cancellation_details: feedback ? { feedback } : undefined,
    });
  }
  return cancelSubscription(ctx, sub, {
    prorate: feature.proration_behavior !== 'none',
    invoiceNow: feature.proration_behavior === 'always_invoice',
    reason: 'cancellation_requested',
    feedback: feedback ?? null,
  });
}
