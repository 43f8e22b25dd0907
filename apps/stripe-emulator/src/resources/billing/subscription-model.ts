/**
 * Building blocks for subscriptions: item parameters → validated item specs, item rows with
 * their plan, saving a subscription (its items are also rows of /v1/subscription_items),
 * period lines and proration lines.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { listOf } from '../../core/list.ts';
import { invalidRequest, parameterMissing } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { priceDataShape } from '../catalog/params.ts';
import { createPrice } from '../catalog/prices.ts';
import { amountFor } from '../catalog/pricing.ts';
import { type PriceRow, Prices, Products } from '../catalog/tables.ts';
import { meteredQuantity } from '../meters/usage.ts';
import type { InvoiceItemInput } from './invoice-item-ops.ts';
import { productName } from './invoice-item-ops.ts';
import type { LineDraft } from './invoice-ops.ts';
import {
  type PlanRow,
  type SubscriptionItemRow,
  SubscriptionItems,
  type SubscriptionRow,
  Subscriptions,
} from './tables.ts';
import {
  formatDate,
  formatInterval,
  formatMoney,
  prorate,
  type Recurrence,
  recurrenceOf,
  sameRecurrence,
} from './time-money.ts';

export const itemPriceDataParams = p.object({
  ...priceDataShape,
  currency: p.required(p.currency()),
  product: p.required(p.string()),
  recurring: p.required(
    p.object({
      interval: p.required(p.enum(['day', 'week', 'month', 'year'])),
      interval_count: p.int({ min: 1 }),
    }),
  ),
});

export const itemParams = p.object({
  id: p.string(),
  price: p.string(),
  plan: p.string(),
  price_data: itemPriceDataParams,
  quantity: p.int({ min: 0 }),
  metadata: p.metadata(),
  deleted: p.bool(),
  clear_usage: p.bool(),
  discounts: p.any(),
  tax_rates: p.any(),
  billing_thresholds: p.any(),
  current_trial: p.any(),
});

export type ItemParam = {
  id?: string;
  price?: string;
  plan?: string;
  price_data?: {
    currency: string;
    product: string;
    unit_amount?: number;
    unit_amount_decimal?: string;
    recurring: { interval: 'day' | 'week' | 'month' | 'year'; interval_count?: number };
    tax_behavior?: 'exclusive' | 'inclusive' | 'unspecified';
  };
  quantity?: number;
  metadata?: Record<string, string | null> | null;
  deleted?: boolean;
};

/** A subscription item as it should be after a create / update (id null = new). */
export interface ItemSpec {
  id: string | null;
  price: PriceRow;
  quantity: number;
  metadata: Stripe.Metadata;
}

/** The price an item parameter names (price, plan, or inline price_data), validated. */
export function resolveItemPrice(ctx: Emulator, item: ItemParam, param: string): PriceRow | null {
  const given = [item.price, item.plan, item.price_data].filter((x) => x !== undefined).length;
  if (given > 1) {
    throw invalidRequest(
      'You may only specify one of these parameters: plan, price, price_data.',
      `${param}[price]`,
    );
  }
  if (given === 0) return null;
  let price: PriceRow;
  if (item.price_data) {
    const product = ctx.store.of(Products).require(item.price_data.product, `${param}[price_data][product]`);
    price = createPrice(
      ctx,
      {
        currency: item.price_data.currency,
        unit_amount: item.price_data.unit_amount,
        unit_amount_decimal: item.price_data.unit_amount_decimal,
        recurring: {
          interval: item.price_data.recurring.interval,
          interval_count: item.price_data.recurring.interval_count,
        },
        tax_behavior: item.price_data.tax_behavior,
        active: false,
      },
      product.id,
    );
  } else {
    const id = (item.price ?? item.plan)!;
    const field = item.price !== undefined ? 'price' : 'plan';
    price = ctx.store.of(Prices).require(id, `${param}[${field}]`);
    if (!price.active) {
      throw invalidRequest(
        `The price specified is inactive. This field only accepts active prices.`,
        `${param}[${field}]`,
      );
    }
  }
  if (price.type !== 'recurring' || !price.recurring) {
    throw invalidRequest(
      `The price specified is set to \`type=one_time\` but this field only accepts prices with \`type=recurring\`.`,
      `${param}[price]`,
    );
  }
  return price;
}

/** Items must share currency and interval; a price appears once. */
export function validateItemSet(specs: ItemSpec[], param = 'items'): void {
  if (specs.length === 0) throw parameterMissing(param);
  if (specs.length > 20) throw invalidRequest('A subscription can have at most 20 items.', param);
  const first = specs[0]!.price;
  const seen = new Set<string>();
  specs.forEach((spec, i) => {
    if (seen.has(spec.price.id)) {
      throw invalidRequest(
        `Cannot add multiple subscription items with the same price: ${spec.price.id}`,
        `${param}[${i}][price]`,
      );
    }
    seen.add(spec.price.id);
    if (
      spec.price.currency !== first.currency ||
      !sameRecurrence(recurrenceOf(spec.price), recurrenceOf(first))
    ) {
      throw invalidRequest(
        'Currency and interval fields must match across all prices on the subscription (the emulator does not support mixed intervals).',
        `${param}[${i}][price]`,
      );
    }
  });
}

export function planOf(price: PriceRow): PlanRow {
  const recurring = price.recurring!;
  return {
    id: price.id,
    object: 'plan',
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    interval: recurring.interval,
    interval_count: recurring.interval_count,
    livemode: false,
    metadata: price.metadata,
    meter: recurring.meter ?? null,
    nickname: price.nickname,
    product: price.product,
    tiers_mode: price.tiers_mode,
    transform_usage: price.transform_quantity
      ? { divide_by: price.transform_quantity.divide_by, round: price.transform_quantity.round }
      : null,
    trial_period_days: recurring.trial_period_days ?? null,
    usage_type: recurring.usage_type,
  };
}

export function buildItem(
  ctx: Emulator,
  subscription: string,
  spec: ItemSpec,
  period: { start: number; end: number },
  created: number,
  old?: SubscriptionItemRow,
): SubscriptionItemRow {
  const metered = spec.price.recurring?.usage_type === 'metered';
  const item: SubscriptionItemRow = {
    id: old?.id ?? ctx.store.of(SubscriptionItems).newId(),
    object: 'subscription_item',
    billing_thresholds: null,
    created: old?.created ?? created,
    current_period_end: period.end,
    current_period_start: period.start,
    current_trial: null,
    discounts: old?.discounts ?? [],
    metadata: spec.metadata,
    plan: planOf(spec.price),
    price: spec.price,
    subscription,
    tax_rates: [],
  };
  if (!metered) item.quantity = spec.quantity;
  return item;
}

export function itemsList(subscription: string, items: SubscriptionItemRow[]) {
  return listOf(items, `/v1/subscription_items?subscription=${subscription}`);
}

/** Store the subscription and keep /v1/subscription_items in step with its items. */
export function saveSubscription(ctx: Emulator, row: SubscriptionRow): SubscriptionRow {
  const subs = ctx.store.of(Subscriptions);
  const items = ctx.store.of(SubscriptionItems);
  const keep = new Set(row.items.data.map((i) => i.id));
  const old = subs.get(row.id);
  if (old) for (const item of old.items.data) if (!keep.has(item.id)) items.delete(item.id);
  for (const item of row.items.data) {
    if (items.has(item.id)) items.replace(item);
    else items.insert(item);
  }
  if (old) subs.replace(row);
  else subs.insert(row, {});
  return row;
}

export function currentPeriod(sub: SubscriptionRow): { start: number; end: number } {
  const first = sub.items.data[0]!;
  return { start: first.current_period_start, end: first.current_period_end };
}

export function subscriptionRecurrence(sub: SubscriptionRow): Recurrence {
  return recurrenceOf(sub.items.data[0]!.price);
}

export function withPeriod(sub: SubscriptionRow, period: { start: number; end: number }): SubscriptionRow {
  return {
    ...sub,
    items: itemsList(
      sub.id,
      sub.items.data.map((i) => ({
        ...i,
        current_period_start: period.start,
        current_period_end: period.end,
      })),
    ),
  };
}

function isMetered(price: PriceRow): boolean {
  return price.recurring?.usage_type === 'metered';
}

/** "2 × Pro" / "Pro". */
export function quantityLabel(ctx: Emulator, price: PriceRow, quantity: number): string {
  const name = productName(ctx, price);
  return quantity === 1 ? name : `${quantity} × ${name}`;
}

/** "1 × Pro (at $29.00 / month)". */
function periodDescription(ctx: Emulator, price: PriceRow, quantity: number): string {
  const name = productName(ctx, price);
  if (price.billing_scheme === 'tiered') return `${quantity} × ${name} (tiered)`;
  const unit = price.unit_amount ?? Math.round(Number(price.unit_amount_decimal ?? 0));
  return `${quantity} × ${name} (at ${formatMoney(unit, price.currency)} / ${formatInterval(recurrenceOf(price))})`;
}

/** Full-period charges of the licensed items (paid in advance). */
export function periodLines(
  ctx: Emulator,
  sub: SubscriptionRow,
  items: SubscriptionItemRow[],
  period: { start: number; end: number },
): LineDraft[] {
  return items
    .filter((item) => !isMetered(item.price))
    .map((item) => {
      const quantity = item.quantity ?? 1;
      return {
        amount: amountFor(ctx, item.price, quantity),
        description: periodDescription(ctx, item.price, quantity),
        discountable: true,
        period,
        price: item.price,
        quantity,
        proration: false,
        subscription: sub.id,
        subscriptionItem: item.id,
        metadata: {},
      };
    });
}

/** Usage of the metered items over the period that just ended (billed in arrears). */
export function usageLines(
  ctx: Emulator,
  sub: SubscriptionRow,
  items: SubscriptionItemRow[],
  period: { start: number; end: number },
): LineDraft[] {
  return items
    .filter((item) => isMetered(item.price))
    .map((item) => {
      const quantity = meteredQuantity(ctx, item.price, sub.customer as string, period.start, period.end);
      return {
        amount: amountFor(ctx, item.price, quantity),
        description: `${quantity} × ${productName(ctx, item.price)} (usage)`,
        discountable: true,
        period,
        price: item.price,
        quantity,
        proration: false,
        subscription: sub.id,
        subscriptionItem: item.id,
        metadata: {},
      };
    });
}

/** $0 lines for a trial period. */
export function trialLines(
  ctx: Emulator,
  sub: SubscriptionRow,
  items: SubscriptionItemRow[],
  period: { start: number; end: number },
): LineDraft[] {
  return items.map((item) => ({
    amount: 0,
    description: `Trial period for ${productName(ctx, item.price)}`,
    discountable: true,
    period,
    price: item.price,
    quantity: item.quantity ?? null,
    proration: false,
    subscription: sub.id,
    subscriptionItem: item.id,
    metadata: {},
  }));
}

/**
 * Proration invoice items for moving from `before` to `after` at `at` within `period`:
 * "Unused time on <old> after <date>" credits and "Remaining time on <new> after <date>"
 * debits, for every item whose price or quantity changed (or that was added / removed).
 * `creditsOnly` when the period itself is being replaced (the new period is billed in full).
 */
export function prorationItems(
  ctx: Emulator,
  sub: SubscriptionRow,
  before: SubscriptionItemRow[],
  after: SubscriptionItemRow[],
  at: number,
  period: { start: number; end: number },
  opts: { creditsOnly?: boolean } = {},
): Omit<InvoiceItemInput, 'customer'>[] {
  const out: Omit<InvoiceItemInput, 'customer'>[] = [];
  const whole = period.end - period.start;
  const part = period.end - at;
  if (part <= 0 || whole <= 0) return out;
  const afterById = new Map(after.map((i) => [i.id, i]));
  const beforeById = new Map(before.map((i) => [i.id, i]));
  const date = formatDate(at);
  const changed = (a: SubscriptionItemRow, b: SubscriptionItemRow | undefined) =>
    !b || a.price.id !== b.price.id || (a.quantity ?? 1) !== (b.quantity ?? 1);
  for (const old of before) {
    if (isMetered(old.price)) continue;
    if (!opts.creditsOnly && !changed(old, afterById.get(old.id))) continue;
    const quantity = old.quantity ?? 1;
    out.push({
      currency: old.price.currency,
      amount: -prorate(amountFor(ctx, old.price, quantity), part, whole),
      price: old.price,
      quantity,
      description: `Unused time on ${quantityLabel(ctx, old.price, quantity)} after ${date}`,
      period: { start: at, end: period.end },
      subscription: sub.id,
      subscriptionItem: old.id,
      proration: true,
    });
  }
  if (opts.creditsOnly) return out;
  for (const next of after) {
    if (isMetered(next.price)) continue;
    if (!changed(next, beforeById.get(next.id))) continue;
    const quantity = next.quantity ?? 1;
    out.push({
      currency: next.price.currency,
      amount: prorate(amountFor(ctx, next.price, quantity), part, whole),
      price: next.price,
      quantity,
      description: `Remaining time on ${quantityLabel(ctx, next.price, quantity)} after ${date}`,
      period: { start: at, end: period.end },
      subscription: sub.id,
      subscriptionItem: next.id,
      proration: true,
    });
  }
  return out;
}
