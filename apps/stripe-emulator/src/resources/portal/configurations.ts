/**
 * /v1/billing_portal/configurations: create, retrieve, update, list. The default
 * configuration (`is_default: true`) is created on first need — what saving the portal
 * settings in the Dashboard does on a real account — with invoice history, payment method
 * update, customer update and cancel-at-period-end enabled.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent } from '../../core/events.ts';
import { randomAlphanumeric } from '../../core/ids.ts';
import { paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest } from '../../http/errors.ts';
import { type Infer, p } from '../../http/params.ts';
import { Prices, Products } from '../catalog/tables.ts';
import { keepOr, mergeMetadata } from '../shared.ts';
import { PortalConfigurations } from './tables.ts';

type Configuration = Stripe.BillingPortal.Configuration;
type Features = Stripe.BillingPortal.Configuration.Features;

const CANCELLATION_REASONS = [
  'customer_service',
  'low_quality',
  'missing_features',
  'other',
  'switched_service',
  'too_complex',
  'too_expensive',
  'unused',
] as const;
const CUSTOMER_UPDATES = ['address', 'email', 'name', 'phone', 'shipping', 'tax_id'] as const;
const PRORATIONS = ['always_invoice', 'create_prorations', 'none'] as const;

const featuresParams = p.object({
  customer_update: p.object({
    allowed_updates: p.emptyable(p.array(p.enum(CUSTOMER_UPDATES))),
    enabled: p.bool(),
  }),
  invoice_history: p.object({ enabled: p.required(p.bool()) }),
  payment_method_update: p.object({
    enabled: p.required(p.bool()),
    payment_method_configuration: p.emptyable(p.string()),
  }),
  subscription_cancel: p.object({
    cancellation_reason: p.object({
      enabled: p.required(p.bool()),
      feedback_options: p.any(),
      options: p.emptyable(p.array(p.enum(CANCELLATION_REASONS))),
    }),
    enabled: p.bool(),
    mode: p.enum(['at_period_end', 'immediately']),
    proration_behavior: p.enum(PRORATIONS),
  }),
  subscription_pause: p.object({
    enabled: p.bool(),
    duration: p.object({
      type: p.required(p.enum(['indefinite', 'interval_options'])),
      interval_options: p.emptyable(
        p.array(
          p.object({
            interval: p.required(p.enum(['day', 'week', 'month', 'year'])),
            interval_count: p.int({ min: 1 }),
          }),
        ),
      ),
    }),
  }),
  subscription_update: p.object({
    billing_cycle_anchor: p.enum(['now', 'unchanged']),
    default_allowed_updates: p.emptyable(p.array(p.enum(['price', 'promotion_code', 'quantity']))),
    enabled: p.bool(),
    products: p.emptyable(
      p.array(
        p.object({
          product: p.required(p.string()),
          prices: p.required(p.array(p.string())),
          adjustable_quantity: p.object({
            enabled: p.required(p.bool()),
            maximum: p.int({ min: 1 }),
            minimum: p.int({ min: 0 }),
          }),
        }),
        { max: 10 },
      ),
    ),
    proration_behavior: p.enum(PRORATIONS),
    schedule_at_period_end: p.object({
      conditions: p.emptyable(
        p.array(p.object({ type: p.required(p.enum(['decreasing_item_amount', 'shortening_interval'])) })),
      ),
    }),
    trial_update_behavior: p.enum(['continue_trial', 'end_trial']),
  }),
});

type FeaturesInput = Infer<typeof featuresParams>;

const commonParams = {
  business_profile: p.object({
    headline: p.emptyable(p.string({ maxLength: 60 })),
    privacy_policy_url: p.emptyable(p.string()),
    terms_of_service_url: p.emptyable(p.string()),
  }),
  default_return_url: p.emptyable(p.string()),
  login_page: p.object({ enabled: p.required(p.bool()) }),
  metadata: p.metadata(),
  name: p.emptyable(p.string({ maxLength: 256 })),
};

/** Every feature switched off (what an API-created configuration starts from). */
function disabledFeatures(): Features {
  return {
    customer_update: { allowed_updates: [], enabled: false },
    invoice_history: { enabled: false },
    payment_method_update: { enabled: false, payment_method_configuration: null },
    subscription_cancel: {
      cancellation_reason: {
        enabled: false,
        feedback_options: null,
        options: ['too_expensive', 'missing_features', 'switched_service', 'unused', 'other'],
      },
      enabled: false,
      mode: 'at_period_end',
      proration_behavior: 'none',
    },
    subscription_pause: { duration: { interval_options: [], type: 'indefinite' }, enabled: false },
    subscription_update: {
      billing_cycle_anchor: null,
      default_allowed_updates: [],
      enabled: false,
      products: [],
      proration_behavior: 'none',
      schedule_at_period_end: { conditions: [] },
      trial_update_behavior: 'end_trial',
    },
  };
}

function checkUrl(value: string | null | undefined, param: string): void {
  if (!value) return;
  try {
    new URL(value);
  } catch {
    throw invalidRequest('Not a valid URL', param, 'url_invalid');
  }
}

/** Stripe's checks on subscription_update products: real products, their recurring prices. */
function validateProducts(
  ctx: Emulator,
  products: NonNullable<FeaturesInput['subscription_update']>['products'],
) {
  for (const [i, entry] of (products ?? []).entries()) {
    const param = `features[subscription_update][products][${i}]`;
    ctx.store.of(Products).require(entry.product, `${param}[product]`);
    if (!entry.prices.length) {
      throw invalidRequest('Each product needs at least one price.', `${param}[prices]`, 'parameter_missing');
    }
    for (const [j, priceId] of entry.prices.entries()) {
      const price = ctx.store.of(Prices).require(priceId, `${param}[prices][${j}]`);
      if (price.product !== entry.product) {
        throw invalidRequest(
          `The price ${priceId} does not belong to the product ${entry.product}.`,
          `${param}[prices][${j}]`,
        );
      }
      if (price.type !== 'recurring') {
        throw invalidRequest(
          `The price ${priceId} is not a recurring price. Only recurring prices can be used in the portal.`,
          `${param}[prices][${j}]`,
        );
      }
    }
  }
}

/** Apply feature parameters onto `base` (create: all off; update: the current features). */
function mergeFeatures(ctx: Emulator, base: Features, input: FeaturesInput | undefined): Features {
  if (!input) return base;
  const out: Features = structuredClone(base);
  if (input.customer_update) {
    const cu = input.customer_update;
    out.customer_update = {
      allowed_updates:
        cu.allowed_updates === undefined ? out.customer_update.allowed_updates : (cu.allowed_updates ?? []),
      enabled: cu.enabled ?? out.customer_update.enabled,
    };
  }
  if (input.invoice_history) out.invoice_history = { enabled: input.invoice_history.enabled };
  if (input.payment_method_update) {
    out.payment_method_update = {
      enabled: input.payment_method_update.enabled,
      payment_method_configuration: keepOr(
        input.payment_method_update.payment_method_configuration,
        out.payment_method_update.payment_method_configuration,
      ),
    };
  }
  if (input.subscription_cancel) {
    const sc = input.subscription_cancel;
    const reason = sc.cancellation_reason;
    if (
      reason?.enabled &&
      reason.options === undefined &&
      !base.subscription_cancel.cancellation_reason.options.length
    ) {
      throw invalidRequest(
        'Missing required param: features[subscription_cancel][cancellation_reason][options].',
        'features[subscription_cancel][cancellation_reason][options]',
        'parameter_missing',
      );
    }
    out.subscription_cancel = {
      cancellation_reason: reason
        ? {
            enabled: reason.enabled,
            feedback_options: out.subscription_cancel.cancellation_reason.feedback_options,
            options:
              reason.options === undefined
                ? out.subscription_cancel.cancellation_reason.options
                : (reason.options ?? []),
          }
        : out.subscription_cancel.cancellation_reason,
      enabled: sc.enabled ?? out.subscription_cancel.enabled,
      mode: sc.mode ?? out.subscription_cancel.mode,
      proration_behavior: sc.proration_behavior ?? out.subscription_cancel.proration_behavior,
    };
  }
  if (input.subscription_pause) {
    const sp = input.subscription_pause;
    out.subscription_pause = {
      enabled: sp.enabled ?? out.subscription_pause.enabled,
      duration: sp.duration
        ? {
            type: sp.duration.type,
            interval_options: (sp.duration.interval_options ?? []).map((o) => ({
              interval: o.interval,
              interval_count: o.interval_count ?? 1,
            })),
          }
        : out.subscription_pause.duration,
    };
  }
  if (input.subscription_update) {
    const su = input.subscription_update;
    validateProducts(ctx, su.products ?? []);
    const prev = out.subscription_update;
    out.subscription_update = {
      billing_cycle_anchor: su.billing_cycle_anchor ?? prev.billing_cycle_anchor,
      default_allowed_updates:
        su.default_allowed_updates === undefined
          ? prev.default_allowed_updates
          : (su.default_allowed_updates ?? []),
      enabled: su.enabled ?? prev.enabled,
      products:
        su.products === undefined
          ? prev.products
          : (su.products ?? []).map((entry) => ({
              product: entry.product,
              prices: entry.prices,
              adjustable_quantity: {
                enabled: entry.adjustable_quantity?.enabled ?? false,
                maximum: entry.adjustable_quantity?.maximum ?? null,
                minimum: entry.adjustable_quantity?.minimum ?? 0,
              },
            })),
      proration_behavior: su.proration_behavior ?? prev.proration_behavior,
      schedule_at_period_end: su.schedule_at_period_end
        ? { conditions: su.schedule_at_period_end.conditions ?? [] }
        : prev.schedule_at_period_end,
      trial_update_behavior: su.trial_update_behavior ?? prev.trial_update_behavior,
    };
  }
  const update = out.subscription_update;
  if (update.enabled && update.default_allowed_updates.includes('price') && !update.products?.length) {
    throw invalidRequest(
      'To let customers change prices, add at least one product to `features[subscription_update][products]`.',
      'features[subscription_update][products]',
      'parameter_missing',
    );
  }
  if (update.enabled && !update.default_allowed_updates.length) {
    throw invalidRequest(
      'Missing required param: features[subscription_update][default_allowed_updates].',
      'features[subscription_update][default_allowed_updates]',
      'parameter_missing',
    );
  }
  return out;
}

function loginPage(
  ctx: Emulator,
  enabled: boolean,
  old: Stripe.BillingPortal.Configuration.LoginPage | null,
) {
  if (!enabled) return { enabled: false, url: null };
  return { enabled: true, url: old?.url ?? `${ctx.baseUrl}/p/login/${randomAlphanumeric(24)}` };
}

function insertConfiguration(
  ctx: Emulator,
  params: { features?: FeaturesInput } & Infer<ReturnType<typeof p.object<typeof commonParams>>>,
  base: Features,
  isDefault: boolean,
): Configuration {
  checkUrl(params.default_return_url, 'default_return_url');
  checkUrl(params.business_profile?.privacy_policy_url, 'business_profile[privacy_policy_url]');
  checkUrl(params.business_profile?.terms_of_service_url, 'business_profile[terms_of_service_url]');
  const table = ctx.store.of(PortalConfigurations);
  const now = ctx.clock.now();
  const config: Configuration = {
    id: table.newId(),
    object: 'billing_portal.configuration',
    active: true,
    application: null,
    business_profile: {
      headline: params.business_profile?.headline ?? null,
      privacy_policy_url: params.business_profile?.privacy_policy_url ?? null,
      terms_of_service_url: params.business_profile?.terms_of_service_url ?? null,
    },
    created: now,
    default_return_url: params.default_return_url ?? null,
    features: mergeFeatures(ctx, base, params.features),
    is_default: isDefault,
    livemode: false,
    login_page: loginPage(ctx, params.login_page?.enabled ?? false, null),
    metadata: mergeMetadata({}, params.metadata),
    name: params.name ?? null,
    updated: now,
  };
  table.insert(config);
  emitEvent(ctx, 'billing_portal.configuration.created', config);
  return config;
}

/** The account's default configuration, created the first time it is needed. */
export function defaultPortalConfiguration(ctx: Emulator): Configuration {
  for (const config of ctx.store.of(PortalConfigurations).values()) if (config.is_default) return config;
  const features = disabledFeatures();
  features.customer_update = {
    allowed_updates: ['email', 'address', 'shipping', 'phone', 'tax_id'],
    enabled: true,
  };
  features.invoice_history = { enabled: true };
  features.payment_method_update = { enabled: true, payment_method_configuration: null };
  features.subscription_cancel = { ...features.subscription_cancel, enabled: true };
  return insertConfiguration(ctx, {}, features, true);
}

export const portalConfigurationsModule: EmulatorModule = {
  name: 'billing_portal_configurations',
  register(app) {
    app.post(
      '/v1/billing_portal/configurations',
      { ...commonParams, features: p.required(featuresParams) },
      (req) => insertConfiguration(req.ctx, req.params, disabledFeatures(), false),
    );

    app.get('/v1/billing_portal/configurations/:id', {}, (req) =>
      req.ctx.store.of(PortalConfigurations).require(req.path.id!),
    );

    app.post(
      '/v1/billing_portal/configurations/:id',
      { ...commonParams, active: p.bool(), features: featuresParams },
      (req) => {
        const { ctx, params } = req;
        const table = ctx.store.of(PortalConfigurations);
        const old = table.require(req.path.id!);
        if (params.active === false && old.is_default) {
          throw invalidRequest('You cannot deactivate the default configuration.', 'active');
        }
        checkUrl(params.default_return_url, 'default_return_url');
        checkUrl(params.business_profile?.privacy_policy_url, 'business_profile[privacy_policy_url]');
        checkUrl(params.business_profile?.terms_of_service_url, 'business_profile[terms_of_service_url]');
        const bp = params.business_profile;
        const next = table.replace({
          ...old,
          active: params.active ?? old.active,
          business_profile: bp
            ? {
                headline: keepOr(bp.headline, old.business_profile.headline),
                privacy_policy_url: keepOr(bp.privacy_policy_url, old.business_profile.privacy_policy_url),
                terms_of_service_url: keepOr(
                  bp.terms_of_service_url,
                  old.business_profile.terms_of_service_url,
                ),
              }
            : old.business_profile,
          default_return_url: keepOr(params.default_return_url, old.default_return_url),
          features: mergeFeatures(ctx, old.features, params.features),
          login_page: params.login_page
            ? loginPage(ctx, params.login_page.enabled, old.login_page)
            : old.login_page,
          metadata: mergeMetadata(old.metadata ?? {}, params.metadata),
          name: keepOr(params.name, old.name),
          updated: ctx.clock.now(),
        });
        emitEvent(ctx, 'billing_portal.configuration.updated', next, { previousAttributes: diff(old, next) });
        return next;
      },
    );

    app.list('/v1/billing_portal/configurations', { active: p.bool(), is_default: p.bool() }, (req) => {
      const { ctx, params } = req;
      defaultPortalConfiguration(ctx);
      const table = ctx.store.of(PortalConfigurations);
      const rows = table.sorted(
        (c) =>
          (params.active === undefined || c.active === params.active) &&
          (params.is_default === undefined || c.is_default === params.is_default),
      );
      return paginate(req, rows, table);
    });
  },
};
