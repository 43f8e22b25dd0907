/**
 * PaymentMethod operations shared by several routes (customers, intents, checkout later):
 * creating card PaymentMethods, resolving magic ids, attach and detach.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { emitEvent } from '../../core/events.ts';
import { defineHook, runHook } from '../../core/hooks.ts';
import { invalidRequest, StripeApiError } from '../../http/errors.ts';
import { Customers } from '../customers/tables.ts';
import { type CardBehaviour, declineDetails, magicCard, type TestCard } from './cards.ts';
import { PaymentMethods } from './tables.ts';

export const paymentMethodAttached = defineHook<{ paymentMethod: Stripe.PaymentMethod; customer: string }>(
  'payment_method.attached',
);
/** After detach; `customer` is the customer it was attached to (clear defaults that point at it). */
export const paymentMethodDetached = defineHook<{ paymentMethod: Stripe.PaymentMethod; customer: string }>(
  'payment_method.detached',
);

export interface CardDetails {
  card: TestCard;
  exp_month?: number;
  exp_year?: number;
  billing_details?: Partial<Stripe.PaymentMethod.BillingDetails>;
  metadata?: Stripe.Metadata;
  allow_redisplay?: Stripe.PaymentMethod.AllowRedisplay;
}

export function createCardPaymentMethod(ctx: Emulator, details: CardDetails): Stripe.PaymentMethod {
  const table = ctx.store.of(PaymentMethods);
  const { card } = details;
  const year = new Date(ctx.clock.now() * 1000).getUTCFullYear();
  const pm: Stripe.PaymentMethod = {
    id: table.newId(),
    object: 'payment_method',
    allow_redisplay: details.allow_redisplay ?? 'unspecified',
    billing_details: {
      address: details.billing_details?.address ?? {
        city: null,
        country: null,
        line1: null,
        line2: null,
        postal_code: null,
        state: null,
      },
      email: details.billing_details?.email ?? null,
      name: details.billing_details?.name ?? null,
      phone: details.billing_details?.phone ?? null,
      tax_id: null,
    },
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: card.country,
      display_brand: card.brand,
      exp_month: details.exp_month ?? 12,
      exp_year: details.exp_year ?? year + 3,
      fingerprint: card.fingerprint,
      funding: card.funding,
      generated_from: null,
      last4: card.last4,
      networks: { available: [card.brand], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: ctx.clock.now(),
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: details.metadata ?? {},
    type: 'card',
  };
  return table.insert(pm, { behaviour: card.behaviour });
}

/**
 * A PaymentMethod id from a request: an existing `pm_...`, or a magic test id
 * (`pm_card_visa`), which becomes a fresh stored PaymentMethod each time it is used.
 */
export function resolvePaymentMethod(ctx: Emulator, id: string, param: string): Stripe.PaymentMethod {
  const table = ctx.store.of(PaymentMethods);
  const existing = table.get(id);
  if (existing) return existing;
  const card = magicCard(id);
  if (card && id.startsWith('pm_card_')) return createCardPaymentMethod(ctx, { card });
  throw new StripeApiError({
    status: 404,
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such PaymentMethod: '${id}'`,
    param,
  });
}

export function behaviourOf(ctx: Emulator, paymentMethodId: string): CardBehaviour {
  return ctx.store.of(PaymentMethods).meta(paymentMethodId)?.behaviour ?? { kind: 'ok' };
}

/** A 402 card_error for a decline, carrying extra members (payment_method, payment_intent...). */
export function cardDeclined(
  code: Parameters<typeof declineDetails>[0],
  extra: Record<string, unknown> = {},
): StripeApiError {
  const details = declineDetails(code);
  return new StripeApiError({
    status: 402,
    type: 'card_error',
    code: details.code,
    decline_code: details.decline_code,
    message: details.message,
    extra,
  });
}

/**
 * Attach to a customer like Stripe: cards that decline cannot be attached (402, checked
 * with a zero-amount authorization), a PaymentMethod belongs to at most one customer.
 */
export function attachPaymentMethod(
  ctx: Emulator,
  paymentMethodId: string,
  customerId: string,
  customerParam = 'customer',
): Stripe.PaymentMethod {
  const table = ctx.store.of(PaymentMethods);
  const pm = table.require(paymentMethodId);
  ctx.store.of(Customers).require(customerId, customerParam);
  if (pm.customer === customerId) return pm;
  if (pm.customer) {
    throw invalidRequest(
      'The payment method you provided has already been attached to a customer.',
      'payment_method',
      'payment_method_already_attached',
    );
  }
  const behaviour = behaviourOf(ctx, pm.id);
  if (behaviour.kind === 'decline') {
    throw cardDeclined(behaviour.code, { payment_method: pm });
  }
  const attached = table.update(pm.id, { customer: customerId });
  emitEvent(ctx, 'payment_method.attached', attached);
  runHook(ctx, paymentMethodAttached, { paymentMethod: attached, customer: customerId });
  return attached;
}

export function detachPaymentMethod(ctx: Emulator, paymentMethodId: string): Stripe.PaymentMethod {
  const table = ctx.store.of(PaymentMethods);
  const pm = table.require(paymentMethodId);
  const customer = typeof pm.customer === 'string' ? pm.customer : null;
  if (!customer) {
    throw invalidRequest(
      'The payment method you provided is not attached to a customer so detachment is impossible.',
      undefined,
      'payment_method_unexpected_state',
    );
  }
  const detached = table.update(pm.id, { customer: null });
  emitEvent(ctx, 'payment_method.detached', detached, {
    previousAttributes: { customer },
    clock: ctx.store.of(Customers).get(customer)?.test_clock as string | null,
  });
  runHook(ctx, paymentMethodDetached, { paymentMethod: detached, customer });
  return detached;
}
