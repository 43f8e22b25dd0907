/**
 * /v1/checkout/sessions: create (payment | subscription | setup), retrieve, update
 * (metadata), list, list line items, expire; automatic expiry at `expires_at` (on the
 * customer's test clock when it has one). Paying happens on the hosted page or through the
 * internal payment_pages API (page.ts); the flows are in complete.ts.
 *
 * Like Stripe since 2022-08-01, the PaymentIntent / SetupIntent is created when the customer
 * pays, not with the session. Line items are returned only when expanded or listed.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { eventEmitted, nowFor } from '../../core/events.ts';
import { randomAlphanumeric } from '../../core/ids.ts';
import { inRange, listOf, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest, parameterUnknown } from '../../http/errors.ts';
import { type InferShape, p } from '../../http/params.ts';
import { isBefore } from '../../http/versions.ts';
import { Customers } from '../customers/tables.ts';
import { mergeMetadata } from '../shared.ts';
import {
  applyDiscounts,
  checkMinimumAmount,
  discountParams,
  lineItemParams,
  planLineItems,
  resolveDiscounts,
  sessionAmounts,
} from './build.ts';
import { expireCheckoutSession, onIntentEvent, scheduleExpiry } from './complete.ts';
import { type CheckoutSessionMeta, CheckoutSessions } from './tables.ts';

const ignored = p.any();
/** Stripe renamed these parameters/values for 2026-09-30.endive; older callers still send them. */
const RENAMED_IN = '2026-09-30';
const LEGACY_UI_MODES: Record<string, Stripe.Checkout.Session.UiMode> = {
  hosted: 'hosted_page',
  embedded: 'embedded_page',
  custom: 'elements',
};
const UI_MODES = ['hosted_page', 'embedded_page', 'elements', 'form'];

export const createParams = {
  mode: p.required(p.enum(['payment', 'setup', 'subscription'])),
  line_items: p.array(lineItemParams),
  success_url: p.string({ maxLength: 5000 }),
  cancel_url: p.string({ maxLength: 5000 }),
  return_url: p.string({ maxLength: 5000 }),
  redirect_on_completion: p.enum(['always', 'if_required', 'never']),
  ui_mode: p.string(),
  customer: p.string(),
  customer_email: p.string({ maxLength: 800 }),
  customer_creation: p.enum(['always', 'if_required']),
  customer_update: p.object({
    address: p.enum(['auto', 'never']),
    name: p.enum(['auto', 'never']),
    shipping: p.enum(['auto', 'never']),
  }),
  client_reference_id: p.string({ maxLength: 200 }),
  metadata: p.metadata(),
  expires_at: p.timestamp(),
  allow_promotion_codes: p.bool(),
  discounts: p.array(discountParams),
  subscription_data: p.object({
    description: p.string({ maxLength: 500 }),
    metadata: p.metadata(),
    trial_period_days: p.int({ min: 1, max: 730 }),
    trial_end: p.timestamp(),
    trial_settings: p.object({
      end_behavior: p.required(
        p.object({ missing_payment_method: p.required(p.enum(['cancel', 'create_invoice', 'pause'])) }),
      ),
    }),
    billing_cycle_anchor: p.timestamp(),
    proration_behavior: p.enum(['create_prorations', 'none']),
    default_tax_rates: p.array(p.string()),
    application_fee_percent: ignored,
    billing_cycle_anchor_config: ignored,
    billing_mode: ignored,
    invoice_settings: ignored,
    on_behalf_of: ignored,
    pending_invoice_item_interval: ignored,
    transfer_data: ignored,
  }),
  payment_intent_data: p.object({
    capture_method: p.enum(['automatic', 'automatic_async', 'manual']),
    description: p.string({ maxLength: 1000 }),
    metadata: p.metadata(),
    receipt_email: p.string(),
    setup_future_usage: p.enum(['off_session', 'on_session']),
    shipping: ignored,
    statement_descriptor: p.string({ maxLength: 22 }),
    statement_descriptor_suffix: p.string({ maxLength: 22 }),
    application_fee_amount: ignored,
    on_behalf_of: ignored,
    transfer_data: ignored,
    transfer_group: ignored,
  }),
  setup_intent_data: p.object({ description: p.string(), metadata: p.metadata(), on_behalf_of: ignored }),
  currency: p.currency(),
  locale: p.string(),
  payment_method_types: p.array(p.string()),
  allowed_payment_method_types: p.array(p.string()),
  excluded_payment_method_types: p.array(p.string()),
  payment_method_collection: p.enum(['always', 'if_required']),
  billing_address_collection: p.enum(['auto', 'required']),
  submit_type: p.enum(['auto', 'book', 'donate', 'pay', 'subscribe']),
  automatic_tax: p.object({ enabled: p.required(p.bool()), liability: ignored }),
  invoice_creation: p.object({ enabled: p.required(p.bool()), invoice_data: ignored }),
  phone_number_collection: p.object({ enabled: p.required(p.bool()) }),
  tax_id_collection: p.object({ enabled: p.required(p.bool()), required: p.enum(['if_supported', 'never']) }),
  after_expiration: p.object({
    recovery: p.object({ enabled: p.required(p.bool()), allow_promotion_codes: p.bool() }),
  }),
  integration_identifier: p.string({ maxLength: 200 }),
  adaptive_pricing: ignored,
  branding_settings: ignored,
  consent_collection: ignored,
  custom_fields: ignored,
  custom_text: ignored,
  customer_account: ignored,
  managed_payments: ignored,
  name_collection: ignored,
  optional_items: ignored,
  origin_context: ignored,
  payment_method_configuration: ignored,
  payment_method_data: ignored,
  payment_method_options: ignored,
  permissions: ignored,
  saved_payment_method_options: ignored,
  shipping_address_collection: ignored,
  shipping_options: ignored,
  wallet_options: ignored,
};

export type CheckoutSessionCreateInput = InferShape<typeof createParams>;

function onlyIn(mode: string, param: string, allowed: string): void {
  if (mode !== allowed) {
    throw invalidRequest(`\`${param}\` can only be used in \`${allowed}\` mode.`, param);
  }
}

function exclusive(params: Record<string, unknown>, a: string, b: string): void {
  if (params[a] !== undefined && params[b] !== undefined) {
    throw invalidRequest(`You may only specify one of these parameters: ${a}, ${b}.`, a);
  }
}

function checkUrl(value: string | undefined, param: string): void {
  if (value === undefined) return;
  try {
    new URL(value.replaceAll('{CHECKOUT_SESSION_ID}', 'cs'));
  } catch {
    throw invalidRequest('Not a valid URL', param, 'url_invalid');
  }
}

/** Create a Checkout Session (what `POST /v1/checkout/sessions` does). */
export function createCheckoutSession(
  ctx: Emulator,
  params: CheckoutSessionCreateInput,
  apiVersion: string | null,
): Stripe.Checkout.Session {
  const { mode } = params;
  const legacy = isBefore(apiVersion, RENAMED_IN);
  // ui_mode: hosted_page (default), embedded_page, elements, form; older names for older callers.
  let uiMode: Stripe.Checkout.Session.UiMode = 'hosted_page';
  if (params.ui_mode !== undefined) {
    const renamed = legacy ? LEGACY_UI_MODES[params.ui_mode] : undefined;
    if (!renamed && !UI_MODES.includes(params.ui_mode)) {
      throw invalidRequest(`Invalid ui_mode: must be one of ${UI_MODES.join(', ')}`, 'ui_mode');
    }
    uiMode = renamed ?? params.ui_mode;
  }
  if (params.payment_method_types !== undefined && !legacy) throw parameterUnknown('payment_method_types');
  const hosted = uiMode === 'hosted_page';
  if (!hosted && (params.success_url !== undefined || params.cancel_url !== undefined)) {
    throw invalidRequest(
      `\`${params.success_url !== undefined ? 'success_url' : 'cancel_url'}\` is not allowed when \`ui_mode\` is \`${uiMode}\`.`,
      params.success_url !== undefined ? 'success_url' : 'cancel_url',
    );
  }
  if (hosted && params.return_url !== undefined) {
    throw invalidRequest('`return_url` is not allowed when `ui_mode` is `hosted_page`.', 'return_url');
  }
  if (!hosted && params.return_url === undefined && params.redirect_on_completion !== 'never') {
    throw invalidRequest(
      `\`return_url\` is required when \`ui_mode\` is \`${uiMode}\` unless \`redirect_on_completion\` is \`never\`.`,
      'return_url',
      'parameter_missing',
    );
  }
  checkUrl(params.success_url, 'success_url');
  checkUrl(params.cancel_url, 'cancel_url');
  checkUrl(params.return_url, 'return_url');
  exclusive(params, 'customer', 'customer_email');
  exclusive(params, 'customer', 'customer_creation');
  exclusive(params, 'allow_promotion_codes', 'discounts');
  if (params.customer_creation !== undefined && mode === 'subscription') {
    throw invalidRequest(
      '`customer_creation` can only be used in `payment` and `setup` mode.',
      'customer_creation',
    );
  }
  if (params.customer_update !== undefined && params.customer === undefined) {
    throw invalidRequest('`customer_update` can only be used with `customer`.', 'customer_update');
  }
  if (params.subscription_data !== undefined) onlyIn(mode, 'subscription_data', 'subscription');
  if (params.payment_intent_data !== undefined) onlyIn(mode, 'payment_intent_data', 'payment');
  if (params.setup_intent_data !== undefined) onlyIn(mode, 'setup_intent_data', 'setup');
  if (params.invoice_creation !== undefined) onlyIn(mode, 'invoice_creation', 'payment');
  const customer = params.customer ? ctx.store.of(Customers).require(params.customer, 'customer') : undefined;
  const created = customer ? nowFor(ctx, customer) : ctx.clock.now();
  const expiresAt = params.expires_at ?? created + 86_400;
  if (expiresAt < created + 1800) {
    throw invalidRequest(
      'The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.',
      'expires_at',
    );
  }
  if (expiresAt > created + 86_400) {
    throw invalidRequest(
      'The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.',
      'expires_at',
    );
  }
  const sub = params.subscription_data;
  if (sub) {
    exclusive(sub, 'trial_end', 'trial_period_days');
    if (sub.trial_end !== undefined && sub.trial_end < created + 48 * 3600) {
      throw invalidRequest(
        '`subscription_data[trial_end]` must be at least 48 hours in the future.',
        'subscription_data[trial_end]',
      );
    }
  }
  const plan = planLineItems(ctx, mode, params.line_items ?? []);
  const allowedTypes = params.allowed_payment_method_types ?? params.payment_method_types;
  const currency = plan.currency ?? params.currency ?? null;
  if (mode === 'setup' && !currency && !allowedTypes?.length) {
    throw invalidRequest(
      'Missing required param: currency. `currency` is required in `setup` mode when `allowed_payment_method_types` is not set.',
      'currency',
      'parameter_missing',
    );
  }
  if (mode !== 'setup' && params.currency !== undefined && params.currency !== plan.currency) {
    throw invalidRequest(
      `The currency (${params.currency}) must match the currency of the line items (${plan.currency}).`,
      'currency',
    );
  }
  for (const type of allowedTypes ?? []) {
    if (type !== 'card') {
      throw invalidRequest(
        `The emulator supports only card payments (got payment method type ${type}).`,
        params.allowed_payment_method_types ? 'allowed_payment_method_types' : 'payment_method_types',
        'payment_method_unactivated',
      );
    }
  }
  const coupons = resolveDiscounts(ctx, params.discounts ?? [], currency);
  const trialing = !!(sub?.trial_period_days || sub?.trial_end);
  // Amounts are known before anything is created: check the minimum first.
  if (mode === 'payment') {
    const preview = applyDiscounts(ctx, plan.preview(), coupons);
    const amounts = sessionAmounts(mode, preview, false);
    checkMinimumAmount(amounts.amount_total ?? 0, currency ?? 'usd');
  }

  // Valid: from here on things are created.
  const lineItems = applyDiscounts(ctx, plan.create(), coupons);
  const table = ctx.store.of(CheckoutSessions);
  const id = `cs_test_${randomAlphanumeric(58)}`;
  const discounts: Stripe.Checkout.Session.Discount[] = (params.discounts ?? []).map((d, i) => ({
    coupon: coupons[i] ?? null,
    promotion_code: d.promotion_code ?? null,
  }));
  const session: Stripe.Checkout.Session = {
    id,
    object: 'checkout.session',
    adaptive_pricing: null,
    after_expiration: params.after_expiration?.recovery
      ? {
          recovery: {
            allow_promotion_codes: params.after_expiration.recovery.allow_promotion_codes ?? false,
            enabled: params.after_expiration.recovery.enabled,
            expires_at: null,
            url: null,
          },
        }
      : null,
    allow_promotion_codes: params.allow_promotion_codes ?? null,
    allowed_payment_method_types: params.allowed_payment_method_types ?? null,
    ...sessionAmounts(mode, lineItems, trialing),
    automatic_tax: {
      enabled: params.automatic_tax?.enabled ?? false,
      liability: params.automatic_tax?.enabled ? { type: 'self' } : null,
      provider: params.automatic_tax?.enabled ? 'stripe' : null,
      status: params.automatic_tax?.enabled ? 'complete' : null,
    },
    billing_address_collection: params.billing_address_collection ?? null,
    cancel_url: params.cancel_url ?? null,
    client_reference_id: params.client_reference_id ?? null,
    client_secret: hosted ? null : `${id}_secret_${randomAlphanumeric(24)}`,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created,
    currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: {
      after_submit: null,
      shipping_address: null,
      submit: null,
      terms_of_service_acceptance: null,
    },
    customer: customer?.id ?? null,
    customer_account: null,
    customer_creation:
      customer || mode === 'subscription' ? null : (params.customer_creation ?? 'if_required'),
    customer_details: customer
      ? {
          address: customer.address ?? null,
          business_name: null,
          email: customer.email,
          individual_name: null,
          name: customer.name ?? null,
          phone: customer.phone ?? null,
          tax_exempt: customer.tax_exempt ?? 'none',
          tax_ids: null,
        }
      : null,
    customer_email: params.customer_email ?? null,
    discounts,
    expires_at: expiresAt,
    integration_identifier: params.integration_identifier ?? null,
    invoice: null,
    invoice_creation:
      mode === 'payment'
        ? {
            enabled: params.invoice_creation?.enabled ?? false,
            invoice_data: {
              account_tax_ids: null,
              custom_fields: null,
              description: null,
              footer: null,
              issuer: null,
              metadata: {},
              rendering_options: null,
            },
          }
        : null,
    livemode: false,
    locale: (params.locale as Stripe.Checkout.Session.Locale | undefined) ?? null,
    managed_payments: null,
    metadata: mergeMetadata({}, params.metadata),
    mode,
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: params.payment_method_collection ?? 'always',
    payment_method_configuration_details: null,
    payment_method_options: { card: { request_three_d_secure: 'automatic' } },
    payment_method_types: allowedTypes?.length ? allowedTypes : ['card'],
    payment_status: mode === 'setup' ? 'no_payment_required' : 'unpaid',
    permissions: null,
    phone_number_collection: { enabled: params.phone_number_collection?.enabled ?? false },
    recovered_from: null,
    saved_payment_method_options: customer
      ? { allow_redisplay_filters: ['always'], payment_method_remove: null, payment_method_save: null }
      : null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: 'open',
    submit_type: params.submit_type ?? null,
    subscription: null,
    success_url: params.success_url ?? null,
    tax_id_collection: {
      enabled: params.tax_id_collection?.enabled ?? false,
      required: params.tax_id_collection?.required ?? 'never',
    },
    total_details: sessionAmounts(mode, lineItems, trialing).total_details,
    ui_mode: uiMode,
    url: hosted ? `${ctx.baseUrl}/c/pay/${id}` : null,
    wallet_options: null,
  };
  if (!hosted) {
    session.redirect_on_completion = params.redirect_on_completion ?? 'always';
    if (params.return_url) session.return_url = params.return_url;
  }
  const meta: CheckoutSessionMeta = {
    lineItems,
    coupons,
    subscriptionData: sub && {
      description: sub.description,
      metadata: mergeMetadata({}, sub.metadata),
      trial_period_days: sub.trial_period_days,
      trial_end: sub.trial_end,
      trial_settings: sub.trial_settings,
      billing_cycle_anchor: sub.billing_cycle_anchor,
      proration_behavior: sub.proration_behavior,
      default_tax_rates: sub.default_tax_rates,
    },
    paymentIntentData: params.payment_intent_data && {
      capture_method: params.payment_intent_data.capture_method,
      description: params.payment_intent_data.description,
      metadata: mergeMetadata({}, params.payment_intent_data.metadata),
      receipt_email: params.payment_intent_data.receipt_email,
      setup_future_usage: params.payment_intent_data.setup_future_usage,
      statement_descriptor: params.payment_intent_data.statement_descriptor,
      statement_descriptor_suffix: params.payment_intent_data.statement_descriptor_suffix,
    },
    setupIntentData: params.setup_intent_data && {
      description: params.setup_intent_data.description,
      metadata: mergeMetadata({}, params.setup_intent_data.metadata),
    },
  };
  table.insert(session, meta);
  scheduleExpiry(ctx, session, customer ? (customer.test_clock as string | null) : null);
  return session;
}

function lineItemsUrl(id: string): string {
  return `/v1/checkout/sessions/${id}/line_items`;
}

export const checkoutSessionsModule: EmulatorModule = {
  name: 'checkout_sessions',
  register(app) {
    app.post('/v1/checkout/sessions', createParams, (req) =>
      createCheckoutSession(req.ctx, req.params, req.apiVersion),
    );

    app.get('/v1/checkout/sessions/:id', {}, (req) =>
      req.ctx.store.of(CheckoutSessions).require(req.path.id!),
    );

    app.post(
      '/v1/checkout/sessions/:id',
      {
        metadata: p.metadata(),
        collected_information: ignored,
        line_items: ignored,
        shipping_options: ignored,
      },
      (req) => {
        const table = req.ctx.store.of(CheckoutSessions);
        const old = table.require(req.path.id!);
        const { params } = req;
        for (const key of ['collected_information', 'line_items', 'shipping_options'] as const) {
          if (params[key] !== undefined) {
            throw invalidRequest(`The emulator does not support updating \`${key}\` yet.`, key);
          }
        }
        return table.replace({ ...old, metadata: mergeMetadata(old.metadata ?? {}, params.metadata) });
      },
    );

    app.list(
      '/v1/checkout/sessions',
      {
        created: p.range(),
        customer: p.string(),
        customer_account: p.string(),
        customer_details: p.object({ email: p.required(p.string()) }),
        payment_intent: p.string(),
        payment_link: p.string(),
        status: p.enum(['complete', 'expired', 'open']),
        subscription: p.string(),
      },
      (req) => {
        const q = req.params;
        const table = req.ctx.store.of(CheckoutSessions);
        const rows = table.sorted(
          (s) =>
            inRange(s.created, q.created) &&
            (!q.customer || s.customer === q.customer) &&
            (!q.customer_details || s.customer_details?.email === q.customer_details.email) &&
            (!q.payment_intent || s.payment_intent === q.payment_intent) &&
            (!q.payment_link || s.payment_link === q.payment_link) &&
            (!q.status || s.status === q.status) &&
            (!q.subscription || s.subscription === q.subscription),
        );
        return paginate(req, rows, table);
      },
    );

    app.list('/v1/checkout/sessions/:id/line_items', {}, (req) => {
      const table = req.ctx.store.of(CheckoutSessions);
      const session = table.require(req.path.id!);
      const items = table.meta(session.id)?.lineItems ?? [];
      return { ...paginate(req, items), url: lineItemsUrl(session.id) };
    });

    app.post('/v1/checkout/sessions/:id/expire', {}, (req) =>
      expireCheckoutSession(req.ctx, req.ctx.store.of(CheckoutSessions).require(req.path.id!)),
    );

    app.virtualExpansion('checkout.session', 'line_items', (ctx, row) => {
      const items = ctx.store.of(CheckoutSessions).meta(row.id as string)?.lineItems ?? [];
      return listOf(items, lineItemsUrl(row.id as string));
    });

    app.on(eventEmitted, (ctx, event) => {
      if (
        event.type === 'payment_intent.succeeded' ||
        event.type === 'payment_intent.amount_capturable_updated' ||
        event.type === 'setup_intent.succeeded' ||
        event.type === 'customer.subscription.updated'
      ) {
        onIntentEvent(ctx, event.type, event.data.object);
      }
    });
  },
};
