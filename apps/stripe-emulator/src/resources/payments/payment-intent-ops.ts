/**
 * PaymentIntent state machine, usable from routes and from other modules (invoices pay with
 * it, checkout confirms it):
 *
 *   requires_payment_method -> requires_confirmation -> (requires_action ->)
 *       succeeded | requires_capture (manual capture) | requires_payment_method + last_payment_error
 *   requires_capture -> succeeded (capture);   most states -> canceled
 *
 * Each confirmation attempt that reaches the card network creates a Charge. Every status
 * change runs the `paymentIntentChanged` hook with the intent's owner, so an invoice learns
 * when its payment succeeds after 3-D Secure.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { emitEvent, nowFor } from '../../core/events.ts';
import { runHook } from '../../core/hooks.ts';
import { invalidRequest, StripeApiError } from '../../http/errors.ts';
import { declineDetails } from './cards.ts';
import { type ChargeFailure, createCharge } from './charge-ops.ts';
import { type IntentCause, paymentIntentChanged } from './hooks.ts';
import { newClientSecret, paymentNeedsAuthentication, threeDSecureAction } from './intent-common.ts';
import { attachPaymentMethod, behaviourOf } from './payment-method-ops.ts';
import type { IntentResult } from './setup-intent-ops.ts';
import { type IntentOwner, PaymentIntents, PaymentMethods } from './tables.ts';

export interface CreatePaymentIntentInput {
  amount: number;
  currency: string;
  customer?: string | null;
  payment_method?: string | null;
  description?: string | null;
  metadata?: Stripe.Metadata;
  capture_method?: Stripe.PaymentIntent.CaptureMethod;
  confirmation_method?: Stripe.PaymentIntent.ConfirmationMethod;
  setup_future_usage?: Stripe.PaymentIntent.SetupFutureUsage | null;
  payment_method_types?: string[];
  automatic_payment_methods?: { enabled: boolean; allow_redirects?: 'always' | 'never' } | null;
  receipt_email?: string | null;
  statement_descriptor?: string | null;
  statement_descriptor_suffix?: string | null;
  /** Who to notify through `paymentIntentChanged` (e.g. `{ object: 'invoice', id }`). */
  owner?: IntentOwner;
}

export interface ConfirmOptions {
  payment_method?: string;
  off_session?: boolean;
  return_url?: string | null;
  setup_future_usage?: Stripe.PaymentIntent.SetupFutureUsage | null;
  error_on_requires_action?: boolean;
}

export function savePaymentIntent(
  ctx: Emulator,
  next: Stripe.PaymentIntent,
  previousStatus: Stripe.PaymentIntent.Status | null,
  cause: IntentCause,
) {
  ctx.store.of(PaymentIntents).replace(next);
  runHook(ctx, paymentIntentChanged, {
    paymentIntent: next,
    previousStatus,
    owner: ctx.store.of(PaymentIntents).meta(next.id)?.owner,
    cause,
  });
  return next;
}

export function createPaymentIntent(ctx: Emulator, input: CreatePaymentIntentInput): Stripe.PaymentIntent {
  const table = ctx.store.of(PaymentIntents);
  const id = table.newId();
  const pi: Stripe.PaymentIntent = {
    id,
    object: 'payment_intent',
    allowed_payment_method_types: null,
    amount: input.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: input.automatic_payment_methods ?? null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: input.capture_method ?? 'automatic_async',
    client_secret: newClientSecret(id),
    confirmation_method: input.confirmation_method ?? 'automatic',
    created: input.customer ? nowFor(ctx, input.customer) : ctx.clock.now(),
    currency: input.currency,
    customer: input.customer ?? null,
    customer_account: null,
    description: input.description ?? null,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata: input.metadata ?? {},
    next_action: null,
    on_behalf_of: null,
    payment_method: input.payment_method ?? null,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' },
    },
    payment_method_types: input.payment_method_types ?? ['card'],
    payment_record: null,
    processing: null,
    receipt_email: input.receipt_email ?? null,
    review: null,
    setup_future_usage: input.setup_future_usage ?? null,
    shipping: null,
    source: null,
    statement_descriptor: input.statement_descriptor ?? null,
    statement_descriptor_suffix: input.statement_descriptor_suffix ?? null,
    status: input.payment_method ? 'requires_confirmation' : 'requires_payment_method',
    transfer_data: null,
    transfer_group: null,
  };
  table.insert(pi, { owner: input.owner });
  emitEvent(ctx, 'payment_intent.created', pi);
  runHook(ctx, paymentIntentChanged, {
    paymentIntent: pi,
    previousStatus: null,
    owner: input.owner,
    cause: 'create',
  });
  return pi;
}

const CONFIRMABLE = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action']);

export function confirmPaymentIntent(
  ctx: Emulator,
  current: Stripe.PaymentIntent,
  opts: ConfirmOptions = {},
): IntentResult<Stripe.PaymentIntent> {
  if (!CONFIRMABLE.has(current.status)) {
    throw new StripeApiError({
      status: 400,
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: `You cannot confirm this PaymentIntent because it has a status of ${current.status}. Only a PaymentIntent with one of the following statuses may be confirmed: requires_confirmation, requires_payment_method, requires_action.`,
      extra: { payment_intent: current },
    });
  }
  const pmId =
    opts.payment_method ?? (typeof current.payment_method === 'string' ? current.payment_method : null);
  if (!pmId) {
    throw new StripeApiError({
      status: 400,
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message:
        "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent, provide a payment method attached to the customer along with the customer ID, or update the PaymentIntent with a payment method first.",
      extra: { payment_intent: current },
    });
  }
  const pm = ctx.store.of(PaymentMethods).require(pmId, 'payment_method');
  if (pm.customer && pm.customer !== current.customer) {
    throw invalidRequest(
      current.customer
        ? 'The provided PaymentMethod belongs to a different customer than the PaymentIntent.'
        : `The provided PaymentMethod is attached to a customer (${pm.customer}); pass that customer on the PaymentIntent to use it.`,
      'payment_method',
      'payment_method_unexpected_state',
    );
  }
  const table = ctx.store.of(PaymentIntents);
  table.setMeta(current.id, { ...table.meta(current.id), authenticated: false });
  const base: Stripe.PaymentIntent = {
    ...current,
    payment_method: pm.id,
    last_payment_error: null,
    next_action: null,
    setup_future_usage:
      opts.setup_future_usage === undefined ? current.setup_future_usage : opts.setup_future_usage,
  };
  const behaviour = behaviourOf(ctx, pm.id);
  const offSession = opts.off_session ?? false;
  switch (behaviour.kind) {
    case 'decline':
      return failPayment(ctx, base, current.status, pm, { code: behaviour.code }, 'confirm');
    case 'charge_fails':
      return failPayment(ctx, base, current.status, pm, { code: 'generic_decline' }, 'confirm');
    case 'radar_block':
      return failPayment(ctx, base, current.status, pm, { code: 'fraudulent', blocked: true }, 'confirm');
  }
  const setUpForOffSession = !!ctx.store.of(PaymentMethods).meta(pm.id)?.offSessionReady;
  if (paymentNeedsAuthentication(behaviour, { offSession, setUpForOffSession })) {
    if (offSession || opts.error_on_requires_action) {
      return failPayment(ctx, base, current.status, pm, { code: 'authentication_required' }, 'confirm');
    }
    const next = savePaymentIntent(
      ctx,
      {
        ...base,
        status: 'requires_action',
        next_action: threeDSecureAction(ctx, current.id, opts.return_url) as never,
      },
      current.status,
      'confirm',
    );
    emitEvent(ctx, 'payment_intent.requires_action', next);
    return { intent: next };
  }
  return succeedPayment(ctx, base, current.status, pm, false, 'confirm');
}

function succeedPayment(
  ctx: Emulator,
  base: Stripe.PaymentIntent,
  previousStatus: Stripe.PaymentIntent.Status,
  pm: Stripe.PaymentMethod,
  authenticated: boolean,
  cause: IntentCause,
): IntentResult<Stripe.PaymentIntent> {
  const manual = base.capture_method === 'manual';
  const charge = createCharge(ctx, {
    paymentIntent: base,
    paymentMethod: pm,
    captured: !manual,
    authenticated,
    created: nowFor(ctx, base),
  });
  // setup_future_usage saves the card on the customer once the payment went through.
  if (base.setup_future_usage && typeof base.customer === 'string') {
    if (pm.customer !== base.customer) attachPaymentMethod(ctx, pm.id, base.customer);
    if (base.setup_future_usage === 'off_session') {
      const pms = ctx.store.of(PaymentMethods);
      pms.setMeta(pm.id, { ...pms.meta(pm.id)!, offSessionReady: true });
    }
  }
  const next = savePaymentIntent(
    ctx,
    {
      ...base,
      status: manual ? 'requires_capture' : 'succeeded',
      amount_capturable: manual ? base.amount : 0,
      amount_received: manual ? 0 : base.amount,
      latest_charge: charge.id,
      next_action: null,
    },
    previousStatus,
    cause,
  );
  emitEvent(ctx, 'charge.succeeded', charge);
  emitEvent(ctx, manual ? 'payment_intent.amount_capturable_updated' : 'payment_intent.succeeded', next);
  return { intent: next };
}

function failPayment(
  ctx: Emulator,
  base: Stripe.PaymentIntent,
  previousStatus: Stripe.PaymentIntent.Status,
  pm: Stripe.PaymentMethod,
  reason: { code: Parameters<typeof declineDetails>[0]; blocked?: boolean },
  cause: IntentCause,
  authenticated = false,
): IntentResult<Stripe.PaymentIntent> {
  const details = declineDetails(reason.code);
  const failure: ChargeFailure = { ...details, blocked: reason.blocked };
  const charge = createCharge(ctx, {
    paymentIntent: base,
    paymentMethod: pm,
    captured: false,
    authenticated,
    failure,
    created: nowFor(ctx, base),
  });
  const lastPaymentError = {
    charge: charge.id,
    code: details.code,
    decline_code: details.decline_code,
    doc_url: `https://stripe.com/docs/error-codes/${details.code.replace(/_/g, '-')}`,
    message: details.message,
    payment_method: pm,
    payment_method_type: 'card',
    type: 'card_error',
  } as Stripe.PaymentIntent.LastPaymentError;
  const next = savePaymentIntent(
    ctx,
    {
      ...base,
      status: 'requires_payment_method',
      payment_method: null,
      next_action: null,
      latest_charge: charge.id,
      last_payment_error: lastPaymentError,
    },
    previousStatus,
    cause,
  );
  emitEvent(ctx, 'charge.failed', charge);
  emitEvent(ctx, 'payment_intent.payment_failed', next);
  return {
    intent: next,
    failure: new StripeApiError({
      status: 402,
      type: 'card_error',
      code: details.code,
      decline_code: details.decline_code,
      message: details.message,
      extra: { charge: charge.id, payment_intent: next, payment_method: pm },
    }),
  };
}

/** The customer completed (or failed) 3-D Secure for a PaymentIntent in requires_action. */
export function authenticatePaymentIntent(
  ctx: Emulator,
  current: Stripe.PaymentIntent,
  outcome: 'succeed' | 'fail',
): Stripe.PaymentIntent {
  if (current.status !== 'requires_action') {
    throw invalidRequest(
      `PaymentIntent ${current.id} is ${current.status}, not requires_action.`,
      undefined,
      'payment_intent_unexpected_state',
    );
  }
  const table = ctx.store.of(PaymentIntents);
  table.setMeta(current.id, { ...table.meta(current.id), authenticated: outcome === 'succeed' });
  const pm = ctx.store.of(PaymentMethods).require(current.payment_method as string);
  if (outcome === 'succeed') {
    if (behaviourOf(ctx, pm.id).kind === 'auth_then_decline') {
      return failPayment(
        ctx,
        current,
        current.status,
        pm,
        { code: 'insufficient_funds' },
        'authenticate',
        true,
      ).intent;
    }
    return succeedPayment(ctx, current, current.status, pm, true, 'authenticate').intent;
  }
  const next = savePaymentIntent(
    ctx,
    {
      ...current,
      status: 'requires_payment_method',
      payment_method: null,
      next_action: null,
      last_payment_error: {
        code: 'payment_intent_authentication_failure',
        doc_url: 'https://stripe.com/docs/error-codes/payment-intent-authentication-failure',
        message:
          'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.',
        payment_method: pm,
        payment_method_type: 'card',
        type: 'invalid_request_error',
      } as Stripe.PaymentIntent.LastPaymentError,
    },
    current.status,
    'authenticate',
  );
  emitEvent(ctx, 'payment_intent.payment_failed', next);
  return next;
}
