/**
 * /v1/payment_intents: create (optionally confirm), retrieve, update, confirm, capture,
 * cancel, list, search. Confirm and retrieve accept a publishable key + client_secret.
 */
import type Stripe from 'stripe';
import { inRange, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { searchRows } from '../../core/search.ts';
import { invalidRequest } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import type { ApiRequest } from '../../http/router.ts';
import { Customers } from '../customers/tables.ts';
import { mergeMetadata } from '../shared.ts';
import { checkClientSecret } from './intent-common.ts';
import { cancelPaymentIntent, capturePaymentIntent } from './payment-intent-capture.ts';
import { confirmPaymentIntent, createPaymentIntent } from './payment-intent-ops.ts';
import { resolvePaymentMethod } from './payment-method-ops.ts';
import {
  createPaymentMethodFromParams,
  type PaymentMethodData,
  paymentMethodDataParams,
} from './payment-method-params.ts';
import type { IntentResult } from './setup-intent-ops.ts';
import { PaymentIntents } from './tables.ts';

const ignored = p.any();
const offSession = p.union(p.bool(), p.enum(['one_off', 'recurring']));
const setupFutureUsage = p.enum(['off_session', 'on_session']);
const TWO_DECIMAL_MINIMUMS: Record<string, number> = { usd: 50, eur: 50, gbp: 30, cad: 50, aud: 50, chf: 50 };

function checkAmount(amount: number, currency: string): void {
  const minimum = TWO_DECIMAL_MINIMUMS[currency] ?? 1;
  if (amount < minimum) {
    throw invalidRequest(
      `Amount must be at least ${minimum} ${currency} (in the smallest currency unit)`,
      'amount',
      'amount_too_small',
    );
  }
  if (amount > 99_999_999) {
    throw invalidRequest('Amount must be no more than 99,999,999', 'amount', 'amount_too_large');
  }
}

function paymentMethodFrom(
  req: ApiRequest<unknown>,
  id: string | undefined,
  data: PaymentMethodData | undefined,
) {
  if (data) return createPaymentMethodFromParams(req.ctx, data, 'payment_method_data[card]').id;
  return id ? resolvePaymentMethod(req.ctx, id, 'payment_method').id : undefined;
}

function answer(result: IntentResult<Stripe.PaymentIntent>): Stripe.PaymentIntent {
  if (result.failure) throw result.failure;
  return result.intent;
}

const confirmShape = {
  payment_method: p.string(),
  payment_method_data: paymentMethodDataParams,
  off_session: offSession,
  return_url: p.string(),
  setup_future_usage: p.emptyable(setupFutureUsage),
  error_on_requires_action: p.bool(),
  use_stripe_sdk: p.bool(),
  mandate: p.string(),
  mandate_data: ignored,
  payment_method_options: ignored,
  payment_method_types: p.array(p.string()),
  receipt_email: p.emptyable(p.string()),
  shipping: ignored,
  capture_method: p.enum(['automatic', 'automatic_async', 'manual']),
  radar_options: ignored,
  confirmation_token: p.string(),
};

const searchFields = {
  status: (pi: Stripe.PaymentIntent) => pi.status,
  customer: (pi: Stripe.PaymentIntent) => pi.customer,
  amount: (pi: Stripe.PaymentIntent) => pi.amount,
  currency: (pi: Stripe.PaymentIntent) => pi.currency,
  metadata: (pi: Stripe.PaymentIntent) => pi.metadata,
  created: (pi: Stripe.PaymentIntent) => pi.created,
};

export const paymentIntentsModule: EmulatorModule = {
  name: 'payment_intents',
  register(app) {
    app.post(
      '/v1/payment_intents',
      {
        ...confirmShape,
        amount: p.required(p.int()),
        currency: p.required(p.currency()),
        customer: p.string(),
        confirm: p.bool(),
        capture_method: p.enum(['automatic', 'automatic_async', 'manual']),
        confirmation_method: p.enum(['automatic', 'manual']),
        automatic_payment_methods: p.object({
          enabled: p.required(p.bool()),
          allow_redirects: p.enum(['always', 'never']),
        }),
        description: p.string(),
        metadata: p.metadata(),
        statement_descriptor: p.string({ maxLength: 22 }),
        statement_descriptor_suffix: p.string({ maxLength: 22 }),
        application_fee_amount: p.int(),
        transfer_data: ignored,
        transfer_group: p.string(),
        on_behalf_of: p.string(),
        payment_method_configuration: p.string(),
        excluded_payment_method_types: p.array(p.string()),
        allowed_payment_method_types: p.array(p.string()),
        amount_details: ignored,
        payment_details: ignored,
        hooks: ignored,
        customer_account: p.string(),
        setup_future_usage: setupFutureUsage,
      },
      (req) => {
        const { ctx, params } = req;
        checkAmount(params.amount, params.currency);
        if (params.customer) ctx.store.of(Customers).require(params.customer, 'customer');
        if (params.off_session !== undefined && params.off_session !== false && !params.confirm) {
          throw invalidRequest('You can only specify `off_session` when `confirm` is true.', 'off_session');
        }
        if (params.return_url && !params.confirm) {
          throw invalidRequest('You can only specify `return_url` when `confirm` is true.', 'return_url');
        }
        const paymentMethod = paymentMethodFrom(req, params.payment_method, params.payment_method_data);
        const pi = createPaymentIntent(ctx, {
          amount: params.amount,
          currency: params.currency,
          customer: params.customer,
          payment_method: paymentMethod,
          description: params.description,
          metadata: mergeMetadata({}, params.metadata),
          capture_method: params.capture_method,
          confirmation_method: params.confirmation_method,
          setup_future_usage: params.setup_future_usage,
          payment_method_types: params.payment_method_types?.length ? params.payment_method_types : undefined,
          automatic_payment_methods: params.automatic_payment_methods,
          receipt_email: params.receipt_email,
          statement_descriptor: params.statement_descriptor,
          statement_descriptor_suffix: params.statement_descriptor_suffix,
        });
        if (!params.confirm) return pi;
        return answer(
          confirmPaymentIntent(ctx, pi, {
            off_session: params.off_session !== undefined && params.off_session !== false,
            return_url: params.return_url,
            error_on_requires_action: params.error_on_requires_action,
          }),
        );
      },
    );

    app.search('/v1/payment_intents/search', {}, (req) =>
      searchRows(req, req.ctx.store.of(PaymentIntents).sorted(), searchFields, 'payment_intents'),
    );

    app.get(
      '/v1/payment_intents/:id',
      { client_secret: p.string() },
      (req) => {
        const pi = req.ctx.store.of(PaymentIntents).require(req.path.id!);
        checkClientSecret(req.keyKind, req.params.client_secret, pi.client_secret);
        return pi;
      },
      { publishable: true },
    );

    app.post(
      '/v1/payment_intents/:id',
      {
        amount: p.int(),
        currency: p.currency(),
        customer: p.string(),
        description: p.emptyable(p.string()),
        metadata: p.metadata(),
        payment_method: p.string(),
        payment_method_data: paymentMethodDataParams,
        payment_method_types: p.array(p.string()),
        receipt_email: p.emptyable(p.string()),
        setup_future_usage: p.emptyable(setupFutureUsage),
        capture_method: p.enum(['automatic', 'automatic_async', 'manual']),
        statement_descriptor: p.string({ maxLength: 22 }),
        statement_descriptor_suffix: p.string({ maxLength: 22 }),
        shipping: ignored,
        payment_method_options: ignored,
        application_fee_amount: ignored,
        transfer_data: ignored,
        transfer_group: p.string(),
        excluded_payment_method_types: ignored,
        amount_details: ignored,
        payment_details: ignored,
        hooks: ignored,
        payment_method_configuration: p.string(),
        customer_account: p.string(),
        allowed_payment_method_types: ignored,
      },
      (req) => {
        const table = req.ctx.store.of(PaymentIntents);
        const old = table.require(req.path.id!);
        const { params } = req;
        const editable = ['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(
          old.status,
        );
        const changesPayment =
          params.amount !== undefined || params.currency !== undefined || params.payment_method !== undefined;
        if (!editable && changesPayment) {
          throw invalidRequest(
            `This PaymentIntent's amount, currency or payment_method could not be updated because it has a status of ${old.status}.`,
            undefined,
            'payment_intent_unexpected_state',
          );
        }
        if (params.customer) req.ctx.store.of(Customers).require(params.customer, 'customer');
        const currency = params.currency ?? old.currency;
        if (params.amount !== undefined) checkAmount(params.amount, currency);
        const paymentMethod = paymentMethodFrom(req, params.payment_method, params.payment_method_data);
        const next: Stripe.PaymentIntent = {
          ...old,
          amount: params.amount ?? old.amount,
          currency,
          customer: params.customer ?? old.customer,
          description: params.description === undefined ? old.description : params.description,
          metadata: mergeMetadata(old.metadata, params.metadata),
          receipt_email: params.receipt_email === undefined ? old.receipt_email : params.receipt_email,
          setup_future_usage:
            params.setup_future_usage === undefined ? old.setup_future_usage : params.setup_future_usage,
          capture_method: params.capture_method ?? old.capture_method,
          statement_descriptor: params.statement_descriptor ?? old.statement_descriptor,
          statement_descriptor_suffix: params.statement_descriptor_suffix ?? old.statement_descriptor_suffix,
          payment_method_types: params.payment_method_types?.length
            ? params.payment_method_types
            : old.payment_method_types,
        };
        if (paymentMethod) next.payment_method = paymentMethod;
        // Changing what is paid needs a new confirmation.
        if (changesPayment && next.payment_method) next.status = 'requires_confirmation';
        if (changesPayment) next.next_action = null;
        return table.replace(next);
      },
    );

    app.post(
      '/v1/payment_intents/:id/confirm',
      { ...confirmShape, client_secret: p.string() },
      (req) => {
        const pi = req.ctx.store.of(PaymentIntents).require(req.path.id!);
        checkClientSecret(req.keyKind, req.params.client_secret, pi.client_secret);
        const { params } = req;
        const paymentMethod = paymentMethodFrom(req, params.payment_method, params.payment_method_data);
        return answer(
          confirmPaymentIntent(req.ctx, pi, {
            payment_method: paymentMethod,
            off_session: params.off_session !== undefined && params.off_session !== false,
            return_url: params.return_url,
            setup_future_usage: params.setup_future_usage,
            error_on_requires_action: params.error_on_requires_action,
          }),
        );
      },
      { publishable: true },
    );

    app.post(
      '/v1/payment_intents/:id/capture',
      {
        amount_to_capture: p.int(),
        metadata: p.metadata(),
        final_capture: p.bool(),
        application_fee_amount: ignored,
        statement_descriptor: p.string(),
        statement_descriptor_suffix: p.string(),
        transfer_data: ignored,
        amount_details: ignored,
        payment_details: ignored,
        hooks: ignored,
      },
      (req) => {
        const pi = req.ctx.store.of(PaymentIntents).require(req.path.id!);
        return capturePaymentIntent(req.ctx, pi, req.params.amount_to_capture);
      },
    );

    app.post(
      '/v1/payment_intents/:id/cancel',
      { cancellation_reason: p.enum(['abandoned', 'duplicate', 'fraudulent', 'requested_by_customer']) },
      (req) => {
        const pi = req.ctx.store.of(PaymentIntents).require(req.path.id!);
        return cancelPaymentIntent(req.ctx, pi, req.params.cancellation_reason ?? null);
      },
    );

    app.list(
      '/v1/payment_intents',
      { customer: p.string(), created: p.range(), customer_account: p.string() },
      (req) => {
        const { customer, created } = req.params;
        const table = req.ctx.store.of(PaymentIntents);
        const rows = table.sorted(
          (pi) => (!customer || pi.customer === customer) && inRange(pi.created, created),
        );
        return paginate(req, rows, table);
      },
    );
  },
};
