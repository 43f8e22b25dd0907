/**
 * /v1/charges: retrieve, update, list, search. Charges are created by PaymentIntents.
 */
import type Stripe from 'stripe';
import { diff, emitEvent } from '../../core/events.ts';
import { inRange, listOf, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { searchRows } from '../../core/search.ts';
import { p } from '../../http/params.ts';
import { mergeMetadata } from '../shared.ts';
import { Charges, Refunds } from './tables.ts';

const searchFields = {
  amount: (c: Stripe.Charge) => c.amount,
  currency: (c: Stripe.Charge) => c.currency,
  customer: (c: Stripe.Charge) => c.customer,
  status: (c: Stripe.Charge) => c.status,
  payment_intent: (c: Stripe.Charge) => c.payment_intent,
  refunded: (c: Stripe.Charge) => c.refunded,
  disputed: (c: Stripe.Charge) => c.disputed,
  metadata: (c: Stripe.Charge) => c.metadata,
  created: (c: Stripe.Charge) => c.created,
};

export const chargesModule: EmulatorModule = {
  name: 'charges',
  register(app) {
    app.search('/v1/charges/search', {}, (req) =>
      searchRows(req, req.ctx.store.of(Charges).sorted(), searchFields, 'charges'),
    );

    app.get('/v1/charges/:id', {}, (req) => req.ctx.store.of(Charges).require(req.path.id!));

    app.post(
      '/v1/charges/:id',
      {
        description: p.emptyable(p.string()),
        metadata: p.metadata(),
        receipt_email: p.emptyable(p.string()),
        shipping: p.any(),
        fraud_details: p.any(),
        transfer_group: p.string(),
        customer: p.string(),
      },
      (req) => {
        const table = req.ctx.store.of(Charges);
        const old = table.require(req.path.id!);
        const { params } = req;
        const next = table.replace({
          ...old,
          description: params.description === undefined ? old.description : params.description,
          metadata: mergeMetadata(old.metadata, params.metadata),
          receipt_email: params.receipt_email === undefined ? old.receipt_email : params.receipt_email,
          customer: params.customer ?? old.customer,
        });
        emitEvent(req.ctx, 'charge.updated', next, { previousAttributes: diff(old, next) });
        return next;
      },
    );

    app.list(
      '/v1/charges',
      { customer: p.string(), payment_intent: p.string(), created: p.range(), transfer_group: p.string() },
      (req) => {
        const { customer, payment_intent, created } = req.params;
        const table = req.ctx.store.of(Charges);
        const rows = table.sorted(
          (c) =>
            (!customer || c.customer === customer) &&
            (!payment_intent || c.payment_intent === payment_intent) &&
            inRange(c.created, created),
        );
        return paginate(req, rows, table);
      },
    );

    // `expand[]=refunds` on a charge (not included by default since 2022-11-15).
    app.virtualExpansion('charge', 'refunds', (ctx, row) =>
      listOf(
        ctx.store.of(Refunds).sorted((r) => r.charge === row.id),
        `/v1/charges/${row.id}/refunds`,
      ),
    );
  },
};
