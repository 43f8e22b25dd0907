/**
 * /v1/invoiceitems: create (pricing[price], price_data, amount + currency or
 * unit_amount_decimal; quantity, period, discountable, subscription, invoice), retrieve,
 * update and delete while pending or on a draft invoice, list (customer, invoice, pending).
 */
import type { Emulator } from '../../core/context.ts';
import { emitEvent } from '../../core/events.ts';
import { inRange, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest, parameterMissing } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { createPrice } from '../catalog/prices.ts';
import { type PriceRow, Prices, Products } from '../catalog/tables.ts';
import { Customers } from '../customers/tables.ts';
import { mergeMetadata } from '../shared.ts';
import { buildInvoiceItem, insertInvoiceItem } from './invoice-item-ops.ts';
import { refreshDraft } from './invoice-ops.ts';
import { type InvoiceItemRow, InvoiceItems, Invoices, Subscriptions } from './tables.ts';

const priceDataParams = p.object({
  currency: p.required(p.currency()),
  product: p.required(p.string()),
  unit_amount: p.int({ min: 0 }),
  unit_amount_decimal: p.decimal(),
  tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
});

const shared = {
  amount: p.int(),
  description: p.string({ maxLength: 500 }),
  discountable: p.bool(),
  discounts: p.any(),
  metadata: p.metadata(),
  period: p.object({ start: p.required(p.timestamp()), end: p.required(p.timestamp()) }),
  price_data: priceDataParams,
  pricing: p.object({ price: p.string() }),
  quantity: p.int({ min: 0 }),
  quantity_decimal: p.decimal(),
  tax_behavior: p.any(),
  tax_code: p.any(),
  tax_rates: p.any(),
  unit_amount_decimal: p.decimal(),
};

const createParams = {
  ...shared,
  currency: p.currency(),
  customer: p.string(),
  customer_account: p.string(),
  invoice: p.string(),
  subscription: p.string(),
};

function pricing(
  ctx: Emulator,
  params: {
    pricing?: { price?: string };
    price_data?: { currency: string; product: string; unit_amount?: number; unit_amount_decimal?: string };
  },
): PriceRow | null {
  if (params.pricing?.price) return ctx.store.of(Prices).require(params.pricing.price, 'pricing[price]');
  if (params.price_data) {
    const product = ctx.store.of(Products).require(params.price_data.product, 'price_data[product]');
    return createPrice(
      ctx,
      {
        currency: params.price_data.currency,
        unit_amount: params.price_data.unit_amount,
        unit_amount_decimal: params.price_data.unit_amount_decimal,
        active: false,
      },
      product.id,
    );
  }
  return null;
}

function checkEditable(ctx: Emulator, item: InvoiceItemRow, verb: string): void {
  if (item.invoice === null) return;
  const invoice = ctx.store.of(Invoices).get(item.invoice as string);
  if (invoice && invoice.status !== 'draft') {
    throw invalidRequest(
      `The invoice item ${item.id} is on invoice ${invoice.id}, which is no longer a draft; it cannot be ${verb}.`,
      undefined,
      'invoice_not_editable',
    );
  }
}

function refreshInvoiceOf(ctx: Emulator, invoiceId: string | null): void {
  if (!invoiceId) return;
  const invoice = ctx.store.of(Invoices).get(invoiceId);
  if (invoice?.status === 'draft') refreshDraft(ctx, invoice);
}

export const invoiceItemsModule: EmulatorModule = {
  name: 'invoiceitems',
  register(app) {
    app.post('/v1/invoiceitems', createParams, (req) => {
      const { ctx, params } = req;
      if (!params.customer) throw parameterMissing('customer');
      const customer = ctx.store.of(Customers).require(params.customer, 'customer');
      const given = [
        params.amount,
        params.pricing?.price,
        params.price_data,
        params.unit_amount_decimal,
      ].filter((x) => x !== undefined).length;
      if (given === 0) {
        throw invalidRequest(
          'You must specify either `amount`, `pricing[price]`, `price_data`, or `unit_amount_decimal`.',
          'amount',
          'parameter_missing',
        );
      }
      if (given > 1) {
        throw invalidRequest(
          'You may only specify one of these parameters: amount, pricing[price], price_data, unit_amount_decimal.',
          'amount',
        );
      }
      if ((params.amount !== undefined || params.unit_amount_decimal !== undefined) && !params.currency) {
        throw parameterMissing('currency');
      }
      let invoice = null;
      if (params.invoice) {
        invoice = ctx.store.of(Invoices).require(params.invoice, 'invoice');
        if (invoice.customer !== customer.id) {
          throw invalidRequest(`The invoice ${invoice.id} belongs to another customer.`, 'invoice');
        }
        if (invoice.status !== 'draft') {
          throw invalidRequest(
            `You can only add invoice items to draft invoices; ${invoice.id} is ${invoice.status}.`,
            'invoice',
            'invoice_not_editable',
          );
        }
      }
      if (params.subscription) {
        const sub = ctx.store.of(Subscriptions).require(params.subscription, 'subscription');
        if (sub.customer !== customer.id) {
          throw invalidRequest(
            `Customer ${customer.id} does not have a subscription with ID ${sub.id}`,
            'subscription',
          );
        }
      }
      if (params.price_data) ctx.store.of(Products).require(params.price_data.product, 'price_data[product]');
      const price = pricing(ctx, params);
      const currency = price?.currency ?? params.currency!;
      if (price && params.currency && params.currency !== price.currency) {
        throw invalidRequest(
          `The currency does not match the price's currency (${price.currency}).`,
          'currency',
        );
      }
      if (invoice && invoice.currency !== currency) {
        throw invalidRequest(
          `The invoice item's currency must match the invoice's (${invoice.currency}).`,
          'currency',
        );
      }
      const row = buildInvoiceItem(ctx, {
        customer,
        currency,
        amount: params.amount,
        price,
        quantity: params.quantity ?? (params.quantity_decimal ? Number(params.quantity_decimal) : 1),
        unitAmountDecimal: params.unit_amount_decimal ?? null,
        description: params.description ?? undefined,
        discountable: params.discountable,
        period: params.period,
        subscription: params.subscription ?? null,
        invoice: invoice?.id ?? null,
        metadata: mergeMetadata({}, params.metadata),
      });
      insertInvoiceItem(ctx, row);
      refreshInvoiceOf(ctx, row.invoice as string | null);
      return row;
    });

    app.get('/v1/invoiceitems/:id', {}, (req) => {
      const table = req.ctx.store.of(InvoiceItems);
      const id = req.path.id!;
      if (table.deleted.has(id)) return { id, object: 'invoiceitem', deleted: true };
      return table.require(id);
    });

    app.post('/v1/invoiceitems/:id', { ...shared, invoicing_rules: p.any() }, (req) => {
      const { ctx, params } = req;
      const table = ctx.store.of(InvoiceItems);
      const old = table.require(req.path.id!);
      checkEditable(ctx, old, 'updated');
      const price = params.pricing?.price || params.price_data ? pricing(ctx, params) : null;
      const oldPrice = old.pricing?.price_details
        ? (ctx.store.of(Prices).get(old.pricing.price_details.price) ?? null)
        : null;
      const customer = ctx.store.of(Customers).require(old.customer as string);
      const nextPrice = price ?? oldPrice;
      const quantity = params.quantity ?? old.quantity;
      const amountGiven = params.amount !== undefined;
      const unitDecimal = params.unit_amount_decimal ?? old.pricing?.unit_amount_decimal ?? null;
      // A new amount wins; otherwise price × quantity, unit_amount_decimal × quantity, or as it was.
      const amount = amountGiven ? params.amount : nextPrice || unitDecimal !== null ? undefined : old.amount;
      const rebuilt = buildInvoiceItem(
        ctx,
        {
          customer,
          currency: old.currency,
          amount,
          price: amountGiven ? null : nextPrice,
          quantity,
          unitAmountDecimal: amountGiven ? null : unitDecimal,
          description: params.description ?? old.description,
          discountable: params.discountable ?? old.discountable,
          period: params.period ?? old.period,
          subscription: old.parent?.subscription_details?.subscription ?? null,
          subscriptionItem: old.parent?.subscription_details?.subscription_item ?? null,
          invoice: old.invoice as string | null,
          metadata: mergeMetadata(old.metadata ?? {}, params.metadata),
          proration: old.proration,
        },
        old.id,
      );
      const next = table.replace({ ...rebuilt, date: old.date });
      refreshInvoiceOf(ctx, next.invoice as string | null);
      return next;
    });

    app.del('/v1/invoiceitems/:id', {}, (req) => {
      const { ctx } = req;
      const table = ctx.store.of(InvoiceItems);
      const item = table.require(req.path.id!);
      checkEditable(ctx, item, 'deleted');
      table.delete(item.id);
      emitEvent(ctx, 'invoiceitem.deleted', item);
      refreshInvoiceOf(ctx, item.invoice as string | null);
      return { id: item.id, object: 'invoiceitem', deleted: true };
    });

    app.list(
      '/v1/invoiceitems',
      {
        customer: p.string(),
        customer_account: p.string(),
        invoice: p.string(),
        pending: p.bool(),
        created: p.range(),
      },
      (req) => {
        const { customer, invoice, pending, created } = req.params;
        const table = req.ctx.store.of(InvoiceItems);
        const rows = table.sorted(
          (ii) =>
            (!customer || ii.customer === customer) &&
            (!invoice || ii.invoice === invoice) &&
            (pending === undefined || (ii.invoice === null) === pending) &&
            inRange(ii.date, created),
        );
        return paginate(req, rows, table);
      },
    );
  },
};
