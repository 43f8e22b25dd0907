/**
 * SetupIntent state machine, usable from routes and from other modules (checkout setup mode):
 *   requires_payment_method -> requires_confirmation -> (requires_action ->) succeeded
 *                                                    -> requires_payment_method + last_setup_error
 * Success attaches the PaymentMethod to the customer and, for usage=off_session, marks it as
 * set up for off-session payments (which is what 4000002500003155 needs).
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { emitEvent, nowFor } from '../../core/events.ts';
import { runHook } from '../../core/hooks.ts';
import { invalidRequest, StripeApiError } from '../../http/errors.ts';
import { declineDetails } from './cards.ts';
import { type IntentCause, setupIntentChanged } from './hooks.ts';
import { newClientSecret, setupNeedsAuthentication, threeDSecureAction } from './intent-common.ts';
import { attachPaymentMethod, behaviourOf } from './payment-method-ops.ts';
import { type IntentOwner, PaymentMethods, SetupIntents } from './tables.ts';

export interface CreateSetupIntentInput {
  customer?: string | null;
  payment_method?: string | null;
  usage?: 'off_session' | 'on_session';
  description?: string | null;
  metadata?: Stripe.Metadata;
  payment_method_types?: string[];
  automatic_payment_methods?: { enabled: boolean; allow_redirects?: 'always' | 'never' };
  owner?: IntentOwner;
}

export interface IntentResult<T> {
  intent: T;
  /** The 402 the API answers when the attempt failed (the intent is saved either way). */
  failure?: StripeApiError;
}

function save(
  ctx: Emulator,
  next: Stripe.SetupIntent,
  previousStatus: Stripe.SetupIntent.Status | null,
  cause: IntentCause,
) {
  ctx.store.of(SetupIntents).replace(next);
  runHook(ctx, setupIntentChanged, {
    setupIntent: next,
    previousStatus,
    owner: ctx.store.of(SetupIntents).meta(next.id)?.owner,
    cause,
  });
  return next;
}

export function createSetupIntent(ctx: Emulator, input: CreateSetupIntentInput): Stripe.SetupIntent {
  const table = ctx.store.of(SetupIntents);
  const id = table.newId();
  const si: Stripe.SetupIntent = {
    id,
    object: 'setup_intent',
    allowed_payment_method_types: null,
    application: null,
    automatic_payment_methods: input.automatic_payment_methods
      ? {
          enabled: input.automatic_payment_methods.enabled,
          allow_redirects: input.automatic_payment_methods.allow_redirects,
        }
      : null,
    cancellation_reason: null,
    client_secret: newClientSecret(id),
    created: input.customer ? nowFor(ctx, input.customer) : ctx.clock.now(),
    customer: input.customer ?? null,
    customer_account: null,
    description: input.description ?? null,
    excluded_payment_method_types: null,
    flow_directions: null,
    last_setup_error: null,
    latest_attempt: null,
    livemode: false,
    mandate: null,
    metadata: input.metadata ?? {},
    next_action: null,
    on_behalf_of: null,
    payment_method: input.payment_method ?? null,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: { mandate_options: null, network: null, request_three_d_secure: 'automatic' },
    },
    payment_method_types: input.payment_method_types ?? ['card'],
    single_use_mandate: null,
    status: input.payment_method ? 'requires_confirmation' : 'requires_payment_method',
    usage: input.usage ?? 'off_session',
  };
  table.insert(si, { owner: input.owner });
  emitEvent(ctx, 'setup_intent.created', si);
  runHook(ctx, setupIntentChanged, {
    setupIntent: si,
    previousStatus: null,
    owner: input.owner,
    cause: 'create',
  });
  return si;
}

const CONFIRMABLE = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action']);

export function confirmSetupIntent(
  ctx: Emulator,
  current: Stripe.SetupIntent,
  opts: { payment_method?: string; return_url?: string | null } = {},
): IntentResult<Stripe.SetupIntent> {
  if (!CONFIRMABLE.has(current.status)) {
    throw invalidRequest(
      `You cannot confirm this SetupIntent because it has a status of ${current.status}. Only a SetupIntent with one of the following statuses may be confirmed: requires_payment_method, requires_confirmation, requires_action.`,
      undefined,
      'setup_intent_unexpected_state',
    );
  }
  const pmId =
    opts.payment_method ?? (typeof current.payment_method === 'string' ? current.payment_method : null);
  if (!pmId) {
    throw invalidRequest(
      "You cannot confirm this SetupIntent because it's missing a payment method. Update the SetupIntent with a payment method and then confirm it again.",
      undefined,
      'setup_intent_unexpected_state',
    );
  }
  const pm = ctx.store.of(PaymentMethods).require(pmId, 'payment_method');
  if (pm.customer && current.customer && pm.customer !== current.customer) {
    throw invalidRequest(
      'The provided PaymentMethod belongs to a different customer.',
      'payment_method',
      'payment_method_unexpected_state',
    );
  }
  ctx.store
    .of(SetupIntents)
    .setMeta(current.id, { ...ctx.store.of(SetupIntents).meta(current.id), authenticated: false });
  const behaviour = behaviourOf(ctx, pm.id);
  const base: Stripe.SetupIntent = {
    ...current,
    payment_method: pm.id,
    last_setup_error: null,
    next_action: null,
  };

  if (behaviour.kind === 'decline')
    return failSetup(ctx, base, current.status, behaviour.code, pm, 'confirm');
  if (setupNeedsAuthentication(behaviour)) {
    const next = save(
      ctx,
      {
        ...base,
        status: 'requires_action',
        next_action: threeDSecureAction(ctx, current.id, opts.return_url) as never,
      },
      current.status,
      'confirm',
    );
    emitEvent(ctx, 'setup_intent.requires_action', next);
    return { intent: next };
  }
  return succeedSetup(ctx, base, current.status, 'confirm');
}

function succeedSetup(
  ctx: Emulator,
  base: Stripe.SetupIntent,
  previousStatus: Stripe.SetupIntent.Status,
  cause: IntentCause,
): IntentResult<Stripe.SetupIntent> {
  const pmId = base.payment_method as string;
  if (typeof base.customer === 'string') attachPaymentMethod(ctx, pmId, base.customer);
  if (base.usage === 'off_session') {
    const pms = ctx.store.of(PaymentMethods);
    const meta = pms.meta(pmId);
    if (meta) pms.setMeta(pmId, { ...meta, offSessionReady: true });
  }
  const next = save(ctx, { ...base, status: 'succeeded', next_action: null }, previousStatus, cause);
  emitEvent(ctx, 'setup_intent.succeeded', next);
  return { intent: next };
}

function failSetup(
  ctx: Emulator,
  base: Stripe.SetupIntent,
  previousStatus: Stripe.SetupIntent.Status,
  code: Parameters<typeof declineDetails>[0],
  pm: Stripe.PaymentMethod,
  cause: IntentCause,
): IntentResult<Stripe.SetupIntent> {
  const details = declineDetails(code);
  const error = {
    code: details.code,
    decline_code: details.decline_code,
    doc_url: `https://stripe.com/docs/error-codes/${details.code.replace(/_/g, '-')}`,
    message: details.message,
    payment_method: pm,
    payment_method_type: 'card',
    type: 'card_error',
  } as Stripe.SetupIntent.LastSetupError;
  const next = save(
    ctx,
    {
      ...base,
      status: 'requires_payment_method',
      payment_method: null,
      next_action: null,
      last_setup_error: error,
    },
    previousStatus,
    cause,
  );
  emitEvent(ctx, 'setup_intent.setup_failed', next);
  return {
    intent: next,
    failure: new StripeApiError({
      status: 402,
      type: 'card_error',
      code: details.code,
      decline_code: details.decline_code,
      message: details.message,
      extra: { setup_intent: next, payment_method: pm },
    }),
  };
}

/** The customer completed (or failed) 3-D Secure for a SetupIntent in requires_action. */
export function authenticateSetupIntent(
  ctx: Emulator,
  current: Stripe.SetupIntent,
  outcome: 'succeed' | 'fail',
): Stripe.SetupIntent {
  if (current.status !== 'requires_action') {
    throw invalidRequest(
      `SetupIntent ${current.id} is ${current.status}, not requires_action.`,
      undefined,
      'setup_intent_unexpected_state',
    );
  }
  const table = ctx.store.of(SetupIntents);
  table.setMeta(current.id, { ...table.meta(current.id), authenticated: outcome === 'succeed' });
  if (outcome === 'succeed') return succeedSetup(ctx, current, current.status, 'authenticate').intent;
  const pm = ctx.store.of(PaymentMethods).get(current.payment_method as string);
  const next = save(
    ctx,
    {
      ...current,
      status: 'requires_payment_method',
      payment_method: null,
      next_action: null,
      last_setup_error: {
        code: 'setup_intent_authentication_failure',
        doc_url: 'https://stripe.com/docs/error-codes/setup-intent-authentication-failure',
        message:
          'The latest attempt to set up the payment method has failed because authentication failed. Provide a new payment method to attempt to set up again.',
        payment_method: pm,
        payment_method_type: 'card',
        type: 'invalid_request_error',
      } as Stripe.SetupIntent.LastSetupError,
    },
    current.status,
    'authenticate',
  );
  emitEvent(ctx, 'setup_intent.setup_failed', next);
  return next;
}

const CANCELABLE = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action']);

export function cancelSetupIntent(
  ctx: Emulator,
  current: Stripe.SetupIntent,
  reason: Stripe.SetupIntent.CancellationReason | null,
): Stripe.SetupIntent {
  if (!CANCELABLE.has(current.status)) {
    throw invalidRequest(
      `You cannot cancel this SetupIntent because it has a status of ${current.status}. Only a SetupIntent with one of the following statuses may be canceled: requires_payment_method, requires_confirmation, requires_action.`,
      undefined,
      'setup_intent_unexpected_state',
    );
  }
  const next = save(
    ctx,
    { ...current, status: 'canceled', cancellation_reason: reason, next_action: null },
    current.status,
    'cancel',
  );
  emitEvent(ctx, 'setup_intent.canceled', next);
  return next;
}
