/**
 * /v1/setup_intents: create (optionally confirm), retrieve, update, confirm, cancel, list.
 * Confirm and retrieve also accept a publishable key with the client_secret (Stripe.js).
 */
import type Stripe from 'stripe';
import { inRange, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import type { ApiRequest } from '../../http/router.ts';
import { Customers } from '../customers/tables.ts';
import { mergeMetadata } from '../shared.ts';
import { checkClientSecret } from './intent-common.ts';
import { resolvePaymentMethod } from './payment-method-ops.ts';
import {
  createPaymentMethodFromParams,
  type PaymentMethodData,
  paymentMethodDataParams,
} from './payment-method-params.ts';
import {
  cancelSetupIntent,
  confirmSetupIntent,
  createSetupIntent,
  type IntentResult,
} from './setup-intent-ops.ts';
import { SetupIntents } from './tables.ts';

const ignored = p.any();

function paymentMethodFrom(
  req: ApiRequest<unknown>,
  id: string | undefined,
  data: PaymentMethodData | undefined,
): string | undefined {
  if (data) return createPaymentMethodFromParams(req.ctx, data, 'payment_method_data[card]').id;
  return id ? resolvePaymentMethod(req.ctx, id, 'payment_method').id : undefined;
}

function answer(result: IntentResult<Stripe.SetupIntent>): Stripe.SetupIntent {
  if (result.failure) throw result.failure;
  return result.intent;
}

export const setupIntentsModule: EmulatorModule = {
  name: 'setup_intents',
  register(app) {
    app.post(
      '/v1/setup_intents',
      {
        customer: p.string(),
        payment_method: p.string(),
        payment_method_data: paymentMethodDataParams,
        payment_method_types: p.array(p.string()),
        // The 2026 API names it allowed_payment_method_types; older clients send payment_method_types.
        allowed_payment_method_types: p.array(p.string()),
        automatic_payment_methods: p.object({
          enabled: p.required(p.bool()),
          allow_redirects: p.enum(['always', 'never']),
        }),
        usage: p.enum(['off_session', 'on_session']),
        confirm: p.bool(),
        description: p.string(),
        metadata: p.metadata(),
        return_url: p.string(),
        use_stripe_sdk: p.bool(),
        mandate_data: ignored,
        payment_method_options: ignored,
        payment_method_configuration: p.string(),
        single_use: ignored,
        attach_to_self: p.bool(),
        flow_directions: p.array(p.enum(['inbound', 'outbound'])),
        on_behalf_of: p.string(),
        excluded_payment_method_types: p.array(p.string()),
        customer_account: p.string(),
      },
      (req) => {
        const { ctx, params } = req;
        if (params.customer) ctx.store.of(Customers).require(params.customer, 'customer');
        if (params.return_url && !params.confirm) {
          throw invalidRequest('You can only specify `return_url` when `confirm` is true.', 'return_url');
        }
        const paymentMethod = paymentMethodFrom(req, params.payment_method, params.payment_method_data);
        const si = createSetupIntent(ctx, {
          customer: params.customer,
          payment_method: paymentMethod,
          usage: params.usage,
          description: params.description,
          metadata: mergeMetadata({}, params.metadata),
          payment_method_types: params.allowed_payment_method_types?.length
            ? params.allowed_payment_method_types
            : params.payment_method_types?.length
              ? params.payment_method_types
              : undefined,
          automatic_payment_methods: params.automatic_payment_methods,
        });
        if (!params.confirm) return si;
        return answer(confirmSetupIntent(ctx, si, { return_url: params.return_url }));
      },
    );

    app.get(
      '/v1/setup_intents/:id',
      { client_secret: p.string() },
      (req) => {
        const si = req.ctx.store.of(SetupIntents).require(req.path.id!);
        checkClientSecret(req.keyKind, req.params.client_secret, si.client_secret);
        return si;
      },
      { publishable: true },
    );

    app.post(
      '/v1/setup_intents/:id',
      {
        customer: p.string(),
        payment_method: p.string(),
        payment_method_data: paymentMethodDataParams,
        payment_method_types: p.array(p.string()),
        description: p.emptyable(p.string()),
        metadata: p.metadata(),
        payment_method_options: ignored,
        attach_to_self: p.bool(),
        flow_directions: p.array(p.string()),
        excluded_payment_method_types: p.any(),
        payment_method_configuration: p.string(),
      },
      (req) => {
        const table = req.ctx.store.of(SetupIntents);
        const old = table.require(req.path.id!);
        const { params } = req;
        if (params.customer) req.ctx.store.of(Customers).require(params.customer, 'customer');
        const paymentMethod = paymentMethodFrom(req, params.payment_method, params.payment_method_data);
        const next: Stripe.SetupIntent = {
          ...old,
          customer: params.customer ?? old.customer,
          description: params.description === undefined ? old.description : params.description,
          metadata: mergeMetadata(old.metadata ?? {}, params.metadata),
          payment_method_types: params.payment_method_types?.length
            ? params.payment_method_types
            : old.payment_method_types,
        };
        if (paymentMethod) {
          next.payment_method = paymentMethod;
          if (old.status === 'requires_payment_method') next.status = 'requires_confirmation';
        }
        return table.replace(next);
      },
    );

    app.post(
      '/v1/setup_intents/:id/confirm',
      {
        client_secret: p.string(),
        payment_method: p.string(),
        payment_method_data: paymentMethodDataParams,
        return_url: p.string(),
        use_stripe_sdk: p.bool(),
        mandate_data: ignored,
        payment_method_options: ignored,
        confirmation_token: p.string(),
      },
      (req) => {
        const si = req.ctx.store.of(SetupIntents).require(req.path.id!);
        checkClientSecret(req.keyKind, req.params.client_secret, si.client_secret);
        const paymentMethod = paymentMethodFrom(
          req,
          req.params.payment_method,
          req.params.payment_method_data,
        );
        return answer(
          confirmSetupIntent(req.ctx, si, {
            payment_method: paymentMethod,
            return_url: req.params.return_url,
          }),
        );
      },
      { publishable: true },
    );

    app.post(
      '/v1/setup_intents/:id/cancel',
      { cancellation_reason: p.enum(['abandoned', 'duplicate', 'requested_by_customer']) },
      (req) => {
        const si = req.ctx.store.of(SetupIntents).require(req.path.id!);
        return cancelSetupIntent(req.ctx, si, req.params.cancellation_reason ?? null);
      },
    );

    app.list(
      '/v1/setup_intents',
      { customer: p.string(), payment_method: p.string(), created: p.range(), attach_to_self: p.bool() },
      (req) => {
        const { customer, payment_method, created } = req.params;
        const table = req.ctx.store.of(SetupIntents);
        const rows = table.sorted(
          (si) =>
            (!customer || si.customer === customer) &&
            (!payment_method || si.payment_method === payment_method) &&
            inRange(si.created, created),
        );
        return paginate(req, rows, table);
      },
    );
  },
};
