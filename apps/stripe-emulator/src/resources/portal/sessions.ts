/**
 * /v1/billing_portal/sessions: create (customer, configuration, return_url, locale,
 * flow_data deep links) -> `{ id: bps_..., url: {base}/p/session/{id} }` and the event
 * `billing_portal.session.created`. The page at the url is in page.ts.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { emitEvent, nowFor } from '../../core/events.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest, parameterMissing } from '../../http/errors.ts';
import { type InferShape, p } from '../../http/params.ts';
import type { SubscriptionRow } from '../billing/tables.ts';
import { Coupons } from '../catalog/tables.ts';
import { Customers } from '../customers/tables.ts';
import { defaultPortalConfiguration } from './configurations.ts';
import { findSubscription } from './subscriptions.ts';
import { PortalConfigurations, PortalSessions } from './tables.ts';

const subscriptionRef = p.object({ subscription: p.required(p.string()) });

const createParams = {
  customer: p.string(),
  customer_account: p.string(),
  configuration: p.string(),
  return_url: p.string({ maxLength: 5000 }),
  locale: p.string(),
  on_behalf_of: p.string(),
  after_expiration: p.any(),
  flow_data: p.object({
    type: p.required(
      p.enum([
        'customer_update',
        'payment_method_update',
        'subscription_cancel',
        'subscription_pause',
        'subscription_update',
        'subscription_update_confirm',
      ]),
    ),
    after_completion: p.object({
      type: p.required(p.enum(['hosted_confirmation', 'portal_homepage', 'redirect'])),
      hosted_confirmation: p.object({ custom_message: p.string({ maxLength: 500 }) }),
      redirect: p.object({ return_url: p.required(p.string()) }),
    }),
    subscription_cancel: p.object({
      subscription: p.required(p.string()),
      retention: p.object({
        type: p.required(p.literal('coupon_offer')),
        coupon_offer: p.required(p.object({ coupon: p.required(p.string()) })),
      }),
    }),
    subscription_pause: subscriptionRef,
    subscription_update: subscriptionRef,
    subscription_update_confirm: p.object({
      subscription: p.required(p.string()),
      items: p.required(
        p.array(p.object({ id: p.required(p.string()), price: p.string(), quantity: p.int({ min: 0 }) }), {
          max: 1,
        }),
      ),
      discounts: p.array(p.object({ coupon: p.string(), promotion_code: p.string() }), { max: 1 }),
    }),
  }),
};

type CreateInput = InferShape<typeof createParams>;
type FlowInput = NonNullable<CreateInput['flow_data']>;

function checkUrl(value: string | undefined, param: string): void {
  if (value === undefined) return;
  try {
    new URL(value);
  } catch {
    throw invalidRequest('Not a valid URL', param, 'url_invalid');
  }
}

/** The subscription a flow names: it must exist and belong to the session's customer. */
function flowSubscription(ctx: Emulator, id: string, customer: string, param: string): SubscriptionRow {
  const sub = findSubscription(ctx, id);
  if (!sub) {
    throw invalidRequest(`No such subscription: '${id}'`, param, 'resource_missing');
  }
  if (sub.customer !== customer) {
    throw invalidRequest(`The subscription ${id} does not belong to the customer ${customer}.`, param);
  }
  return sub;
}

function buildFlow(ctx: Emulator, input: FlowInput, customer: string): Stripe.BillingPortal.Session.Flow {
  const { type } = input;
  const after = input.after_completion;
  if (after?.type === 'redirect' && !after.redirect)
    throw parameterMissing('flow_data[after_completion][redirect]');
  checkUrl(after?.redirect?.return_url, 'flow_data[after_completion][redirect][return_url]');
  const flow: Stripe.BillingPortal.Session.Flow = {
    after_completion: {
      hosted_confirmation:
        after?.type === 'hosted_confirmation'
          ? { custom_message: after.hosted_confirmation?.custom_message ?? null }
          : null,
      redirect:
        after?.type === 'redirect' && after.redirect ? { return_url: after.redirect.return_url } : null,
      type: after?.type ?? 'portal_homepage',
    },
    customer_update: null,
    subscription_cancel: null,
    subscription_pause: null,
    subscription_update: null,
    subscription_update_confirm: null,
    type,
  };
  if (type === 'customer_update' || type === 'payment_method_update') return flow;
  const details = input[type];
  if (!details) throw parameterMissing(`flow_data[${type}]`);
  const param = `flow_data[${type}][subscription]`;
  const sub = flowSubscription(ctx, details.subscription, customer, param);
  if (['canceled', 'incomplete_expired'].includes(sub.status)) {
    throw invalidRequest(`The subscription ${sub.id} is ${sub.status} and cannot be changed.`, param);
  }
  if (type === 'subscription_cancel') {
    if (sub.cancel_at_period_end || sub.cancel_at !== null) {
      throw invalidRequest(`The subscription ${sub.id} is already set to be canceled.`, param);
    }
    const retention = input.subscription_cancel!.retention;
    if (retention) {
      ctx.store
        .of(Coupons)
        .require(
          retention.coupon_offer.coupon,
          'flow_data[subscription_cancel][retention][coupon_offer][coupon]',
        );
    }
    flow.subscription_cancel = {
      retention: retention
        ? { type: 'coupon_offer', coupon_offer: { coupon: retention.coupon_offer.coupon } }
        : null,
      subscription: sub.id,
    };
  } else if (type === 'subscription_pause') {
    flow.subscription_pause = { subscription: sub.id };
  } else if (type === 'subscription_update') {
    flow.subscription_update = { subscription: sub.id };
  } else {
    const confirm = input.subscription_update_confirm!;
    const itemIds = new Set(sub.items.data.map((item) => item.id));
    for (const [i, item] of confirm.items.entries()) {
      if (!itemIds.has(item.id)) {
        throw invalidRequest(
          `The subscription item ${item.id} does not belong to ${sub.id}.`,
          `flow_data[subscription_update_confirm][items][${i}][id]`,
        );
      }
    }
    flow.subscription_update_confirm = {
      discounts: confirm.discounts?.length
        ? confirm.discounts.map((d) => ({
            coupon: d.coupon ?? null,
            promotion_code: d.promotion_code ?? null,
          }))
        : null,
      items: confirm.items.map((item) => ({
        id: item.id,
        price: item.price ?? null,
        quantity: item.quantity,
      })),
      subscription: sub.id,
    };
  }
  return flow;
}

/** Create a portal session (what `POST /v1/billing_portal/sessions` does). */
export function createPortalSession(ctx: Emulator, params: CreateInput): Stripe.BillingPortal.Session {
  if (params.customer_account !== undefined) {
    throw invalidRequest('The emulator supports portal sessions for customers only.', 'customer_account');
  }
  if (!params.customer) throw parameterMissing('customer');
  const customer = ctx.store.of(Customers).require(params.customer, 'customer');
  let configuration: Stripe.BillingPortal.Configuration;
  if (params.configuration) {
    configuration = ctx.store.of(PortalConfigurations).require(params.configuration, 'configuration');
    if (!configuration.active) {
      throw invalidRequest(
        `The configuration ${configuration.id} is not active. Activate it or pass an active configuration.`,
        'configuration',
      );
    }
  } else {
    configuration = defaultPortalConfiguration(ctx);
  }
  checkUrl(params.return_url, 'return_url');
  const flow = params.flow_data ? buildFlow(ctx, params.flow_data, customer.id) : null;
  const table = ctx.store.of(PortalSessions);
  const id = table.newId();
  const session: Stripe.BillingPortal.Session = {
    id,
    object: 'billing_portal.session',
    configuration: configuration.id,
    created: nowFor(ctx, customer),
    customer: customer.id,
    customer_account: null,
    flow,
    livemode: false,
    locale: (params.locale as Stripe.BillingPortal.Session.Locale | undefined) ?? null,
    on_behalf_of: params.on_behalf_of ?? null,
    return_url: params.return_url ?? configuration.default_return_url,
    url: `${ctx.baseUrl}/p/session/${id}`,
  };
  table.insert(session);
  emitEvent(ctx, 'billing_portal.session.created', session);
  return session;
}

export const portalSessionsModule: EmulatorModule = {
  name: 'billing_portal_sessions',
  register(app) {
    app.post('/v1/billing_portal/sessions', createParams, (req) => createPortalSession(req.ctx, req.params));
  },
};
