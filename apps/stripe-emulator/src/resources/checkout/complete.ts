/**
 * What happens when the customer pays on a Checkout page (the hosted page, the internal
 * `POST /v1/payment_pages/:cs/confirm` that Stripe.js and the Stripe CLI use), and when a
 * session expires.
 *
 *   payment mode:      PaymentIntent created and confirmed (payment_intent.created,
 *                      charge.succeeded, payment_intent.succeeded) -> checkout.session.completed
 *   setup mode:        SetupIntent created and confirmed (the card is attached to the
 *                      customer) -> checkout.session.completed with setup_intent
 *   subscription mode: customer (created if needed), card attached, the subscription created
 *                      through the billing module -> checkout.session.completed
 *
 * A declined card answers 402 and leaves the session open (the PaymentIntent is reused on the
 * next attempt). A card that needs 3-D Secure leaves the intent in requires_action; the
 * session completes when the intent succeeds later. That is noticed through the
 * `eventEmitted` hook on `payment_intent.succeeded` / `setup_intent.succeeded` of an intent
 * this module owns, so the completion event always follows the payment's events.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { emitEvent, nowFor } from '../../core/events.ts';
import { randomAlphanumeric } from '../../core/ids.ts';
import { defineJob, scheduleJob } from '../../core/scheduler.ts';
import { invalidRequest } from '../../http/errors.ts';
import { redeemCoupon } from '../catalog/coupons.ts';
import { amountFor } from '../catalog/pricing.ts';
import { PromotionCodes } from '../catalog/tables.ts';
import { Customers } from '../customers/tables.ts';
import { cancelPaymentIntent } from '../payments/payment-intent-capture.ts';
import { confirmPaymentIntent, createPaymentIntent } from '../payments/payment-intent-ops.ts';
import { attachPaymentMethod } from '../payments/payment-method-ops.ts';
import { cancelSetupIntent, confirmSetupIntent, createSetupIntent } from '../payments/setup-intent-ops.ts';
import { PaymentIntents, SetupIntents } from '../payments/tables.ts';
import { applyDiscounts, sessionAmounts } from './build.ts';
import { onSubscriptionEvent, startCheckoutSubscription } from './subscription.ts';
import { type CheckoutSessionMeta, CheckoutSessions, type PendingPayer } from './tables.ts';

export const OWNER = 'checkout.session';

/** Who is paying, as entered on the page (or sent by Stripe.js / the CLI). */
export interface PayerDetails {
  /** A PaymentMethod id (or magic `pm_card_*`) already resolved to a stored PaymentMethod. */
  paymentMethod: Stripe.PaymentMethod;
  email?: string;
  name?: string;
  /** New quantities for line items with adjustable_quantity, by line item id. */
  quantities?: Record<string, number>;
  /** The amount the page showed; a mismatch means the session changed meanwhile. */
  expectedAmount?: number;
}

function metaOf(ctx: Emulator, id: string): CheckoutSessionMeta {
  return ctx.store.of(CheckoutSessions).meta(id)!;
}

export const expireCheckoutSessionJob = defineJob<{ session: string }>(
  'checkout.session.expire',
  (ctx, { session }) => {
    const row = ctx.store.of(CheckoutSessions).get(session);
    if (row?.status !== 'open') return;
    expireCheckoutSession(ctx, row);
  },
);

export function scheduleExpiry(ctx: Emulator, session: Stripe.Checkout.Session, clock: string | null): void {
  scheduleJob(ctx, expireCheckoutSessionJob, {
    clock,
    at: session.expires_at,
    payload: { session: session.id },
    key: `checkout.expire:${session.id}`,
  });
}

/** Expire an open session (API `expire`, or the job at `expires_at`). */
export function expireCheckoutSession(
  ctx: Emulator,
  session: Stripe.Checkout.Session,
): Stripe.Checkout.Session {
  if (session.status !== 'open') {
    throw invalidRequest(
      `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
      undefined,
      'checkout_session_unexpected_state',
    );
  }
  ctx.scheduler.cancel(`checkout.expire:${session.id}`);
  // The session's unfinished payment cannot complete any more.
  if (typeof session.payment_intent === 'string') {
    const pi = ctx.store.of(PaymentIntents).get(session.payment_intent);
    if (pi && ['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(pi.status)) {
      cancelPaymentIntent(ctx, pi, 'abandoned');
    }
  }
  if (typeof session.setup_intent === 'string') {
    const si = ctx.store.of(SetupIntents).get(session.setup_intent);
    if (si && ['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(si.status)) {
      cancelSetupIntent(ctx, si, 'abandoned');
    }
  }
  const next = ctx.store.of(CheckoutSessions).replace({ ...session, status: 'expired', url: null });
  emitEvent(ctx, 'checkout.session.expired', next);
  return next;
}

/** The session, or Stripe's error when it can no longer be paid. Expires it when overdue. */
export function requireOpen(ctx: Emulator, session: Stripe.Checkout.Session): Stripe.Checkout.Session {
  if (session.status === 'open' && nowFor(ctx, session) >= session.expires_at) {
    session = expireCheckoutSession(ctx, session);
  }
  if (session.status !== 'open') {
    throw invalidRequest(
      session.status === 'expired'
        ? 'This Checkout Session has expired. Create a new Checkout Session to accept a payment.'
        : 'This Checkout Session is no longer active: it has already been completed.',
      undefined,
      'checkout_session_inactive',
    );
  }
  return session;
}

/** Change adjustable quantities before paying; recomputes the session's amounts. */
function applyQuantities(
  ctx: Emulator,
  session: Stripe.Checkout.Session,
  quantities: Record<string, number>,
): Stripe.Checkout.Session {
  const table = ctx.store.of(CheckoutSessions);
  const meta = metaOf(ctx, session.id);
  let changed = false;
  const items = meta.lineItems.map((item) => {
    const wanted = quantities[item.id];
    if (wanted === undefined || wanted === item.quantity) return item;
    const adjustable = item.adjustable_quantity;
    if (!adjustable?.enabled) {
      throw invalidRequest(`The quantity of line item ${item.id} cannot be adjusted.`, 'line_items');
    }
    if (wanted < (adjustable.minimum ?? 0) || wanted > (adjustable.maximum ?? 99)) {
      throw invalidRequest(
        `The quantity must be between ${adjustable.minimum ?? 0} and ${adjustable.maximum ?? 99}.`,
        'line_items',
      );
    }
    changed = true;
    const subtotal = item.price ? amountFor(ctx, item.price, wanted) : 0;
    return {
      ...item,
      quantity: wanted,
      amount_subtotal: subtotal,
      amount_total: subtotal,
      amount_discount: 0,
    };
  });
  if (!changed) return session;
  const discounted = applyDiscounts(ctx, items, meta.coupons);
  const trialing = !!(meta.subscriptionData?.trial_period_days || meta.subscriptionData?.trial_end);
  table.setMeta(session.id, { ...meta, lineItems: discounted });
  return table.replace({ ...session, ...sessionAmounts(session.mode, discounted, trialing) });
}

/** The customer the session pays as: given, created earlier, or created now when needed. */
function payingCustomer(ctx: Emulator, session: Stripe.Checkout.Session, payer: PendingPayer): string | null {
  if (typeof session.customer === 'string') return session.customer;
  if (payer.customer && ctx.store.of(Customers).has(payer.customer)) return payer.customer;
  const needed = session.mode === 'subscription' || session.customer_creation === 'always';
  if (!needed) return null;
  return createCustomerFor(ctx, payer).id;
}

function createCustomerFor(ctx: Emulator, payer: PendingPayer): Stripe.Customer {
  const table = ctx.store.of(Customers);
  const customer: Stripe.Customer = {
    id: table.newId(),
    object: 'customer',
    address: payer.address,
    balance: 0,
    created: ctx.clock.now(),
    currency: null,
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: payer.email,
    invoice_prefix: randomAlphanumeric(8).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: {},
    name: payer.name,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
  table.insert(customer);
  emitEvent(ctx, 'customer.created', customer);
  return customer;
}

/**
 * Pay (or set up) a Checkout Session. Returns the session afterwards: `complete` when the
 * payment went through, still `open` when 3-D Secure is pending. Throws the 402 card_error of
 * a declined card (the session stays open).
 */
export function confirmCheckoutSession(
  ctx: Emulator,
  current: Stripe.Checkout.Session,
  details: PayerDetails,
): Stripe.Checkout.Session {
  let session = requireOpen(ctx, current);
  const table = ctx.store.of(CheckoutSessions);
  if (details.quantities) session = applyQuantities(ctx, session, details.quantities);
  if (details.expectedAmount !== undefined && session.amount_total !== null) {
    if (details.expectedAmount !== session.amount_total) {
      throw invalidRequest(
        `The expected amount (${details.expectedAmount}) does not match the amount due (${session.amount_total}). Reload the page and try again.`,
        'expected_amount',
      );
    }
  }
  const pm = details.paymentMethod;
  const meta = metaOf(ctx, session.id);
  const customerRow =
    typeof session.customer === 'string' ? ctx.store.of(Customers).get(session.customer) : null;
  const payer: PendingPayer = {
    email: details.email ?? session.customer_email ?? customerRow?.email ?? pm.billing_details.email ?? null,
    name: details.name ?? pm.billing_details.name ?? customerRow?.name ?? null,
    address: pm.billing_details.address ?? null,
    customer: meta.payer?.customer,
  };
  const customer = payingCustomer(ctx, session, payer);
  if (customer && typeof session.customer !== 'string') payer.customer = customer;
  table.setMeta(session.id, { ...metaOf(ctx, session.id), payer });
  const owner = { object: OWNER, id: session.id };

  if (session.mode === 'payment') {
    const data = meta.paymentIntentData ?? {};
    let pi =
      typeof session.payment_intent === 'string'
        ? ctx.store.of(PaymentIntents).get(session.payment_intent)
        : undefined;
    if (pi?.status !== 'requires_payment_method') {
      pi = createPaymentIntent(ctx, {
        amount: session.amount_total ?? 0,
        currency: session.currency ?? 'usd',
        customer,
        description: data.description ?? null,
        metadata: data.metadata ?? {},
        capture_method: data.capture_method,
        setup_future_usage: data.setup_future_usage ?? null,
        receipt_email: data.receipt_email ?? null,
        statement_descriptor: data.statement_descriptor ?? null,
        statement_descriptor_suffix: data.statement_descriptor_suffix ?? null,
        payment_method_types: session.payment_method_types,
        owner,
      });
      session = table.replace({ ...session, payment_intent: pi.id });
    }
    const result = confirmPaymentIntent(ctx, pi, {
      payment_method: pm.id,
      return_url: `${ctx.baseUrl}/c/pay/${session.id}`,
    });
    if (result.failure) throw result.failure;
    return table.require(session.id);
  }

  if (session.mode === 'setup') {
    const data = meta.setupIntentData ?? {};
    let si =
      typeof session.setup_intent === 'string'
        ? ctx.store.of(SetupIntents).get(session.setup_intent)
        : undefined;
    if (si?.status !== 'requires_payment_method') {
      si = createSetupIntent(ctx, {
        customer,
        usage: 'off_session',
        description: data.description ?? null,
        metadata: data.metadata ?? {},
        payment_method_types: session.payment_method_types,
        owner,
      });
      session = table.replace({ ...session, setup_intent: si.id });
    }
    const result = confirmSetupIntent(ctx, si, {
      payment_method: pm.id,
      return_url: `${ctx.baseUrl}/c/pay/${session.id}`,
    });
    if (result.failure) throw result.failure;
    return table.require(session.id);
  }

  // Subscription mode: the card is saved on the customer, then the subscription is created.
  if (!customer) throw new Error('subscription checkout without a customer');
  attachPaymentMethod(ctx, pm.id, customer, 'payment_method');
  const started = startCheckoutSubscription(ctx, session, metaOf(ctx, session.id), {
    customer,
    paymentMethod: pm.id,
  });
  if (started.complete) {
    completeCheckoutSession(ctx, session.id, {
      invoice: started.invoice,
      subscription: started.subscription,
    });
  } else if (started.failure) {
    throw started.failure;
  }
  return table.require(session.id);
}

/** Mark the session complete and emit checkout.session.completed (once). */
export function completeCheckoutSession(
  ctx: Emulator,
  id: string,
  result: { invoice?: string | null; subscription?: string | null } = {},
): Stripe.Checkout.Session | undefined {
  const table = ctx.store.of(CheckoutSessions);
  const session = table.get(id);
  if (session?.status !== 'open') return session;
  const meta = metaOf(ctx, id);
  const payer = meta.payer ?? { email: null, name: null, address: null };
  const customer = typeof session.customer === 'string' ? session.customer : (payer.customer ?? null);
  let paymentStatus: Stripe.Checkout.Session.PaymentStatus = 'no_payment_required';
  if (session.mode === 'payment') {
    const pi = ctx.store.of(PaymentIntents).get(session.payment_intent as string);
    paymentStatus = pi?.status === 'succeeded' ? 'paid' : 'unpaid';
  } else if (session.mode === 'subscription') {
    paymentStatus = (session.amount_total ?? 0) > 0 ? 'paid' : 'no_payment_required';
  }
  // Subscription discounts are redeemed by the subscription itself.
  if (session.mode === 'payment') {
    for (const couponId of meta.coupons) redeemCoupon(ctx, couponId);
    for (const discount of session.discounts ?? []) {
      if (typeof discount.promotion_code === 'string') {
        const codes = ctx.store.of(PromotionCodes);
        const code = codes.get(discount.promotion_code);
        if (code) codes.update(code.id, { times_redeemed: code.times_redeemed + 1 });
      }
    }
  }
  ctx.scheduler.cancel(`checkout.expire:${id}`);
  const next = table.replace({
    ...session,
    status: 'complete',
    payment_status: paymentStatus,
    customer,
    customer_details: {
      address: payer.address,
      business_name: null,
      email: payer.email,
      individual_name: null,
      name: payer.name,
      phone: null,
      tax_exempt: 'none',
      tax_ids: [],
    },
    collected_information: { business_name: null, individual_name: null, shipping_details: null },
    invoice: result.invoice ?? session.invoice,
    subscription: result.subscription ?? session.subscription,
    url: null,
  });
  emitEvent(ctx, 'checkout.session.completed', next);
  return next;
}

/** Listener body for `eventEmitted`: a checkout-owned intent succeeded -> complete. */
export function onIntentEvent(ctx: Emulator, type: string, object: Record<string, unknown>): void {
  let owner: { object: string; id: string } | undefined;
  if (type === 'payment_intent.succeeded' || type === 'payment_intent.amount_capturable_updated') {
    owner = ctx.store.of(PaymentIntents).meta(object.id as string)?.owner;
  } else if (type === 'setup_intent.succeeded') {
    owner = ctx.store.of(SetupIntents).meta(object.id as string)?.owner;
  }
  if (owner?.object === OWNER) completeCheckoutSession(ctx, owner.id);
  onSubscriptionEvent(ctx, type, object, (id, invoice, subscription) =>
    completeCheckoutSession(ctx, id, { invoice, subscription }),
  );
}
