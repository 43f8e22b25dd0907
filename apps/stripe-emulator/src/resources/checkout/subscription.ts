/**
 * Subscription-mode Checkout: once the card is attached to the customer, the subscription is
 * created through the billing module's `createSubscription` (the same function as
 * `POST /v1/subscriptions`, so the same events: customer.subscription.created, invoice.*,
 * payment_intent.*, ...), paying its first invoice with the card.
 *
 * - paid (or nothing due: trial) -> the session completes with `subscription` and `invoice`;
 * - the card needs 3-D Secure -> the subscription waits `incomplete`; the session completes
 *   when the subscription turns active (`customer.subscription.updated`);
 * - the card is declined -> 402, the session stays open; the next attempt pays the same
 *   incomplete subscription's invoice with the new card.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { StripeApiError } from '../../http/errors.ts';
import { attemptPayment } from '../billing/invoice-ops.ts';
import { createSubscription } from '../billing/subscription-ops.ts';
import { Invoices, Subscriptions } from '../billing/tables.ts';
import { PaymentIntents } from '../payments/tables.ts';
import { type CheckoutSessionMeta, CheckoutSessions } from './tables.ts';

export interface StartedSubscription {
  subscription: string | null;
  /** The subscription's first invoice. */
  invoice: string | null;
  /** The first payment went through (or nothing was due): the session completes now. */
  complete: boolean;
  /** The 402 of a declined first payment (the session stays open). */
  failure?: StripeApiError;
}

const ACTIVE = new Set(['active', 'trialing']);

function outcome(ctx: Emulator, subId: string): StartedSubscription {
  const sub = ctx.store.of(Subscriptions).require(subId);
  const invoice = typeof sub.latest_invoice === 'string' ? sub.latest_invoice : null;
  if (ACTIVE.has(sub.status)) return { subscription: sub.id, invoice, complete: true };
  return { subscription: sub.id, invoice, complete: false };
}

/** The 402 for a first payment that failed (from its PaymentIntent's last error). */
function failureOf(ctx: Emulator, invoiceId: string | null): StripeApiError | undefined {
  if (!invoiceId) return undefined;
  const piId = ctx.store.of(Invoices).meta(invoiceId)?.paymentIntent;
  const pi = piId ? ctx.store.of(PaymentIntents).get(piId) : undefined;
  const error = pi?.last_payment_error;
  if (pi?.status !== 'requires_payment_method' || !error) return undefined;
  return new StripeApiError({
    status: 402,
    type: 'card_error',
    code: error.code,
    decline_code: error.decline_code,
    message: error.message ?? 'Your card was declined.',
    extra: { payment_intent: pi },
  });
}

export function startCheckoutSubscription(
  ctx: Emulator,
  session: Stripe.Checkout.Session,
  meta: CheckoutSessionMeta,
  payer: { customer: string; paymentMethod: string },
): StartedSubscription {
  // A previous attempt created the subscription but its first payment failed: pay that.
  const pending = meta.pendingSubscription
    ? ctx.store.of(Subscriptions).get(meta.pendingSubscription)
    : undefined;
  if (pending?.status === 'incomplete' && typeof pending.latest_invoice === 'string') {
    const invoice = ctx.store.of(Invoices).require(pending.latest_invoice);
    const result = attemptPayment(ctx, invoice, {
      paymentMethod: payer.paymentMethod,
      offSession: false,
      automatic: false,
    });
    const after = outcome(ctx, pending.id);
    if (result.outcome === 'failed') return { ...after, failure: result.failure };
    return after;
  }

  const data = meta.subscriptionData ?? {};
  const items: NonNullable<Parameters<typeof createSubscription>[1]['items']> = [];
  const addInvoiceItems: NonNullable<Parameters<typeof createSubscription>[1]['add_invoice_items']> = [];
  for (const line of meta.lineItems) {
    const price = line.price;
    if (!price) continue;
    if (price.type === 'recurring' && price.recurring) {
      const quantity = line.quantity ?? undefined;
      // Inline (price_data) prices are not active catalog prices: pass them inline again.
      items.push(
        price.active
          ? { price: price.id, quantity }
          : {
              price_data: {
                currency: price.currency,
                product: price.product as string,
                unit_amount: price.unit_amount ?? undefined,
                unit_amount_decimal:
                  price.unit_amount === null ? (price.unit_amount_decimal ?? undefined) : undefined,
                recurring: {
                  interval: price.recurring.interval as 'day' | 'week' | 'month' | 'year',
                  interval_count: price.recurring.interval_count,
                },
              },
              quantity,
            },
      );
    } else {
      addInvoiceItems.push({ price: price.id, quantity: line.quantity ?? 1 });
    }
  }
  const discounts = (session.discounts ?? []).map((d) =>
    typeof d.promotion_code === 'string'
      ? { promotion_code: d.promotion_code }
      : { coupon: d.coupon as string },
  );
  const sub = createSubscription(ctx, {
    customer: payer.customer,
    items,
    add_invoice_items: addInvoiceItems.length ? addInvoiceItems : undefined,
    default_payment_method: payer.paymentMethod,
    payment_behavior: 'allow_incomplete',
    off_session: false,
    metadata: data.metadata,
    description: data.description,
    trial_period_days: data.trial_period_days,
    trial_end: data.trial_end,
    trial_settings: data.trial_settings && {
      end_behavior: { missing_payment_method: data.trial_settings.end_behavior.missing_payment_method },
    },
    billing_cycle_anchor: data.billing_cycle_anchor,
    proration_behavior: data.proration_behavior,
    discounts: discounts.length ? discounts : undefined,
  });
  const table = ctx.store.of(CheckoutSessions);
  table.setMeta(session.id, { ...table.meta(session.id)!, pendingSubscription: sub.id });
  const after = outcome(ctx, sub.id);
  if (after.complete) return after;
  return { ...after, failure: failureOf(ctx, after.invoice) };
}

/** Listener body: a checkout's pending subscription became active after 3-D Secure. */
export function onSubscriptionEvent(
  ctx: Emulator,
  type: string,
  object: Record<string, unknown>,
  complete: (sessionId: string, invoice: string | null, subscription: string) => void,
): void {
  if (type !== 'customer.subscription.updated' || !ACTIVE.has(object.status as string)) return;
  const table = ctx.store.of(CheckoutSessions);
  for (const session of table.values()) {
    if (session.status !== 'open' || session.mode !== 'subscription') continue;
    if (table.meta(session.id)?.pendingSubscription !== object.id) continue;
    const latest = object.latest_invoice;
    complete(session.id, typeof latest === 'string' ? latest : null, object.id as string);
  }
}
