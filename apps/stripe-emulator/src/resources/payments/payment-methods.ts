/**
 * /v1/payment_methods (create, retrieve, update, attach, detach, list) and the customer
 * views /v1/customers/:id/payment_methods.
 */
import type Stripe from 'stripe';
import { diff, emitEvent } from '../../core/events.ts';
import { paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { resourceMissing } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { Customers } from '../customers/tables.ts';
import { mergeMetadata, toAddress } from '../shared.ts';
import { attachPaymentMethod, detachPaymentMethod, resolvePaymentMethod } from './payment-method-ops.ts';
import {
  allowRedisplay,
  billingDetailsParams,
  cardParams,
  createPaymentMethodFromParams,
} from './payment-method-params.ts';
import { PaymentMethods } from './tables.ts';

export const paymentMethodsModule: EmulatorModule = {
  name: 'payment_methods',
  register(app) {
    app.post(
      '/v1/payment_methods',
      {
        type: p.string(),
        card: cardParams,
        billing_details: billingDetailsParams,
        metadata: p.metadata(),
        allow_redisplay: allowRedisplay,
        customer: p.string(),
        payment_method: p.string(),
        radar_options: p.any(),
      },
      (req) => {
        const { type, customer, payment_method, ...rest } = req.params;
        // Connect "clone to a connected account" form: with one account it is the same PM.
        if (payment_method) return resolvePaymentMethod(req.ctx, payment_method, 'payment_method');
        void customer;
        return createPaymentMethodFromParams(req.ctx, { type: type ?? 'card', ...rest });
      },
      { publishable: true },
    );

    app.get('/v1/payment_methods/:id', {}, (req) => resolvePaymentMethod(req.ctx, req.path.id!, 'id'));

    app.post(
      '/v1/payment_methods/:id',
      {
        billing_details: billingDetailsParams,
        card: p.object({ exp_month: p.int({ min: 1, max: 12 }), exp_year: p.int(), networks: p.any() }),
        metadata: p.metadata(),
        allow_redisplay: allowRedisplay,
      },
      (req) => {
        const table = req.ctx.store.of(PaymentMethods);
        const old = table.require(req.path.id!);
        const { billing_details: bd, card, metadata } = req.params;
        const next: Stripe.PaymentMethod = {
          ...old,
          metadata: mergeMetadata(old.metadata ?? {}, metadata),
          allow_redisplay: req.params.allow_redisplay ?? old.allow_redisplay,
        };
        if (bd) {
          next.billing_details = {
            ...old.billing_details,
            ...(bd.address !== undefined && { address: bd.address && toAddress(bd.address) }),
            ...(bd.email !== undefined && { email: bd.email }),
            ...(bd.name !== undefined && { name: bd.name }),
            ...(bd.phone !== undefined && { phone: bd.phone }),
          };
        }
        if (card && old.card) {
          next.card = {
            ...old.card,
            exp_month: card.exp_month ?? old.card.exp_month,
            exp_year: card.exp_year ?? old.card.exp_year,
          };
        }
        table.replace(next);
        emitEvent(req.ctx, 'payment_method.updated', next, { previousAttributes: diff(old, next) });
        return next;
      },
    );

    app.post('/v1/payment_methods/:id/attach', { customer: p.required(p.string()) }, (req) => {
      const pm = resolvePaymentMethod(req.ctx, req.path.id!, 'id');
      return attachPaymentMethod(req.ctx, pm.id, req.params.customer);
    });

    app.post('/v1/payment_methods/:id/detach', {}, (req) => detachPaymentMethod(req.ctx, req.path.id!));

    app.list('/v1/payment_methods', { customer: p.string(), type: p.string() }, (req) => {
      const { customer, type } = req.params;
      if (customer) req.ctx.store.of(Customers).require(customer, 'customer');
      const table = req.ctx.store.of(PaymentMethods);
      const rows = table.sorted(
        (pm) => (!customer || pm.customer === customer) && (!type || pm.type === type),
      );
      return paginate(req, rows, table);
    });

    app.list(
      '/v1/customers/:id/payment_methods',
      { type: p.string(), allow_redisplay: allowRedisplay },
      (req) => {
        const customer = req.ctx.store.of(Customers).require(req.path.id!);
        const { type, allow_redisplay } = req.params;
        const table = req.ctx.store.of(PaymentMethods);
        const rows = table.sorted(
          (pm) =>
            pm.customer === customer.id &&
            (!type || pm.type === type) &&
            (!allow_redisplay || pm.allow_redisplay === allow_redisplay),
        );
        return paginate(req, rows, table);
      },
    );

    app.get('/v1/customers/:id/payment_methods/:pm', {}, (req) => {
      const customer = req.ctx.store.of(Customers).require(req.path.id!);
      const pm = req.ctx.store.of(PaymentMethods).get(req.path.pm!);
      if (!pm || pm.customer !== customer.id) throw resourceMissing('PaymentMethod', req.path.pm!);
      return pm;
    });
  },
};
