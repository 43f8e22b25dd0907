/**
 * Invoice items: one-off charges or credits (and the proration lines of subscription updates)
 * that wait as "pending" until the next invoice of their customer / subscription picks them up.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { emitEvent, nowFor } from '../../core/events.ts';
import { amountFor } from '../catalog/pricing.ts';
import { type PriceRow, Products } from '../catalog/tables.ts';
import { type InvoiceItemRow, InvoiceItems } from './tables.ts';

export interface InvoiceItemInput {
  customer: Stripe.Customer;
  currency: string;
  /** The total amount; computed from price × quantity when a price is given. */
  amount?: number;
  price?: PriceRow | null;
  quantity?: number;
  /** Unit amount for price-less items given as unit_amount_decimal. */
  unitAmountDecimal?: string | null;
  description?: string | null;
  discountable?: boolean;
  period?: { start: number; end: number };
  subscription?: string | null;
  subscriptionItem?: string | null;
  invoice?: string | null;
  metadata?: Stripe.Metadata;
  proration?: boolean;
}

export function productName(ctx: Emulator, price: PriceRow | null | undefined): string {
  if (!price) return '';
  return ctx.store.of(Products).get(price.product as string)?.name ?? String(price.product);
}

/** Build (not store) an invoice item row. */
export function buildInvoiceItem(ctx: Emulator, input: InvoiceItemInput, id?: string): InvoiceItemRow {
  const now = nowFor(ctx, input.customer);
  const quantity = input.quantity ?? 1;
  const price = input.price ?? null;
  const amount =
    input.amount ??
    (price ? amountFor(ctx, price, quantity) : Math.round(Number(input.unitAmountDecimal ?? '0') * quantity));
  return {
    id: id ?? ctx.store.of(InvoiceItems).newId(),
    object: 'invoiceitem',
    amount,
    currency: input.currency,
    customer: input.customer.id,
    customer_account: null,
    date: now,
    description: input.description ?? (price ? productName(ctx, price) : null),
    discountable: input.discountable ?? true,
    discounts: [],
    invoice: input.invoice ?? null,
    livemode: false,
    metadata: input.metadata ?? {},
    parent: input.subscription
      ? {
          type: 'subscription_details',
          subscription_details: {
            subscription: input.subscription,
            ...(input.subscriptionItem ? { subscription_item: input.subscriptionItem } : {}),
          },
        }
      : null,
    period: input.period ?? { start: now, end: now },
    pricing: price
      ? {
          type: 'price_details',
          price_details: { price: price.id, product: price.product as string },
          unit_amount_decimal: price.unit_amount_decimal,
        }
      : input.unitAmountDecimal !== undefined && input.unitAmountDecimal !== null
        ? { type: 'price_details', unit_amount_decimal: input.unitAmountDecimal }
        : null,
    proration: input.proration ?? false,
    proration_details: { credited_items: null, discount_amounts: [] },
    quantity,
    quantity_decimal: String(quantity),
    tax_rates: [],
    test_clock: input.customer.test_clock ?? null,
  };
}

export function insertInvoiceItem(ctx: Emulator, row: InvoiceItemRow): InvoiceItemRow {
  ctx.store.of(InvoiceItems).insert(row);
  emitEvent(ctx, 'invoiceitem.created', row);
  return row;
}

export function subscriptionOfItem(item: InvoiceItemRow): string | null {
  return item.parent?.subscription_details?.subscription ?? null;
}

/**
 * Pending items the next invoice takes: those of `subscription` (when given) plus the
 * customer's items that belong to no subscription (unless `subscriptionOnly`).
 */
export function pendingInvoiceItems(
  ctx: Emulator,
  customer: string,
  subscription: string | null,
  opts: { subscriptionOnly?: boolean; currency?: string } = {},
): InvoiceItemRow[] {
  return ctx.store
    .of(InvoiceItems)
    .sorted(
      (ii) =>
        ii.customer === customer &&
        ii.invoice === null &&
        (opts.currency === undefined || ii.currency === opts.currency) &&
        (subscriptionOfItem(ii) === null
          ? !opts.subscriptionOnly
          : subscription !== null && subscriptionOfItem(ii) === subscription),
    )
    .reverse();
}
