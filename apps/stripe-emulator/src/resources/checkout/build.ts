/**
 * Building a Checkout Session from its create parameters: line items (price or price_data
 * with product_data), discounts, amounts, and Stripe's validation of the combination.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { randomAlphanumeric } from '../../core/ids.ts';
import { invalidRequest } from '../../http/errors.ts';
import { type Infer, p } from '../../http/params.ts';
import { couponIsValid } from '../catalog/coupons.ts';
import { createPrice } from '../catalog/prices.ts';
import { amountFor } from '../catalog/pricing.ts';
import { createProduct } from '../catalog/products.ts';
import { promotionCodeIsUsable } from '../catalog/promotion-codes.ts';
import { Coupons, type PriceRow, Prices, Products, PromotionCodes } from '../catalog/tables.ts';
import { mergeMetadata } from '../shared.ts';
import type { CheckoutLineItem } from './tables.ts';

export const lineItemParams = p.object({
  price: p.string(),
  price_data: p.object({
    currency: p.required(p.currency()),
    product: p.string(),
    product_data: p.object({
      name: p.required(p.string()),
      description: p.string(),
      images: p.array(p.string(), { max: 8 }),
      metadata: p.metadata(),
      tax_code: p.string(),
      tax_details: p.any(),
      unit_label: p.string(),
    }),
    recurring: p.object({
      interval: p.required(p.enum(['day', 'week', 'month', 'year'])),
      interval_count: p.int({ min: 1 }),
    }),
    tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
    unit_amount: p.int({ min: 0 }),
    unit_amount_decimal: p.decimal(),
  }),
  quantity: p.int({ min: 0 }),
  adjustable_quantity: p.object({
    enabled: p.required(p.bool()),
    maximum: p.int({ min: 1, max: 999_999 }),
    minimum: p.int({ min: 0, max: 999_999 }),
  }),
  metadata: p.metadata(),
  tax_rates: p.array(p.string()),
});

export type LineItemInput = Infer<typeof lineItemParams>;

export const discountParams = p.object({ coupon: p.string(), promotion_code: p.string() });
export type DiscountInput = Infer<typeof discountParams>;

const TWO_DECIMAL_MINIMUMS: Record<string, number> = { usd: 50, eur: 50, gbp: 30, cad: 50, aud: 50, chf: 50 };

function isMetered(price: PriceRow | null): boolean {
  return price?.recurring?.usage_type === 'metered';
}

export interface LineItemPlan {
  /** The items' common currency (null in setup mode). */
  currency: string | null;
  /** The line items' amounts without creating anything (for checks before creating). */
  preview(): CheckoutLineItem[];
  /** Create the inline prices/products and the line items (call after all validation). */
  create(): CheckoutLineItem[];
}

/** Validate a new session's line items; `create()` then makes them (inline prices included). */
export function planLineItems(
  ctx: Emulator,
  mode: 'payment' | 'subscription' | 'setup',
  inputs: LineItemInput[],
): LineItemPlan {
  if (mode === 'setup') {
    if (inputs.length) throw invalidRequest('You cannot pass `line_items` in `setup` mode.', 'line_items');
    return { currency: null, preview: () => [], create: () => [] };
  }
  if (!inputs.length) {
    throw invalidRequest(
      `\`line_items\` is required in \`${mode}\` mode.`,
      'line_items',
      'parameter_missing',
    );
  }
  const max = mode === 'subscription' ? 20 : 100;
  if (inputs.length > max) {
    throw invalidRequest(
      `You may only specify up to ${max} line items in \`${mode}\` mode.`,
      'line_items',
      'parameter_invalid_array',
    );
  }
  // Validate everything before creating inline prices.
  const resolved = inputs.map((input, i) => {
    const param = `line_items[${i}]`;
    if (input.price && input.price_data) {
      throw invalidRequest(
        `You may only specify one of these parameters: price, price_data.`,
        `${param}[price]`,
      );
    }
    if (!input.price && !input.price_data) {
      throw invalidRequest(
        `You must specify either \`price\` or \`price_data\` in \`${param}\`.`,
        `${param}[price]`,
        'parameter_missing',
      );
    }
    let price: PriceRow | undefined;
    if (input.price) {
      price = ctx.store.of(Prices).require(input.price, `${param}[price]`);
      if (!price.active) {
        throw invalidRequest(
          'The price specified is inactive. This field only accepts active prices.',
          `${param}[price]`,
        );
      }
    } else {
      const data = input.price_data!;
      if (data.product && data.product_data) {
        throw invalidRequest(
          'You may only specify one of these parameters: product, product_data.',
          `${param}[price_data][product]`,
        );
      }
      if (!data.product && !data.product_data) {
        throw invalidRequest(
          'You must specify either `product` or `product_data` when creating a price.',
          `${param}[price_data][product_data]`,
          'parameter_missing',
        );
      }
      if (data.product) ctx.store.of(Products).require(data.product, `${param}[price_data][product]`);
      if (data.unit_amount === undefined && data.unit_amount_decimal === undefined) {
        throw invalidRequest(
          `Missing required param: ${param}[price_data][unit_amount].`,
          `${param}[price_data][unit_amount]`,
          'parameter_missing',
        );
      }
    }
    const recurring = price ? price.type === 'recurring' : !!input.price_data?.recurring;
    if (mode === 'payment' && recurring) {
      throw invalidRequest(
        'You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.',
        `${param}[price]`,
      );
    }
    const metered = isMetered(price ?? null);
    if (metered && input.quantity !== undefined) {
      throw invalidRequest(
        `Quantity should not be specified where usage_type is \`metered\`. Remove quantity from \`${param}\`.`,
        `${param}[quantity]`,
      );
    }
    if (!metered && input.quantity === undefined) {
      throw invalidRequest(
        `Missing required param: ${param}[quantity].`,
        `${param}[quantity]`,
        'parameter_missing',
      );
    }
    const adjustable = input.adjustable_quantity;
    if (adjustable?.enabled) {
      const minimum = adjustable.minimum ?? 0;
      const maximum = adjustable.maximum ?? 99;
      if (minimum > maximum) {
        throw invalidRequest(
          'The adjustable quantity minimum must be less than or equal to the maximum.',
          `${param}[adjustable_quantity][minimum]`,
        );
      }
      const quantity = input.quantity ?? 0;
      if (quantity < minimum || quantity > maximum) {
        throw invalidRequest(
          `The quantity (${quantity}) must be between the adjustable quantity minimum (${minimum}) and maximum (${maximum}).`,
          `${param}[quantity]`,
        );
      }
    }
    return { input, price, recurring };
  });
  if (mode === 'subscription' && !resolved.some((r) => r.recurring)) {
    throw invalidRequest(
      'You must specify at least one recurring price in `subscription` mode when using prices.',
      'line_items',
    );
  }
  const currencies = new Set(resolved.map((r) => r.price?.currency ?? r.input.price_data!.currency));
  if (currencies.size > 1) {
    throw invalidRequest('All line items must have the same currency.', 'line_items');
  }

  const create = () =>
    resolved.map(({ input, price }) => {
      let row = price;
      if (!row) {
        const data = input.price_data!;
        const productId =
          data.product ??
          createProduct(ctx, {
            name: data.product_data!.name,
            description: data.product_data!.description,
            images: data.product_data!.images,
            metadata: data.product_data!.metadata,
            tax_code: data.product_data!.tax_code,
            unit_label: data.product_data!.unit_label,
          }).id;
        // Inline prices exist for this purchase only: not active in the catalog.
        row = createPrice(
          ctx,
          {
            active: false,
            currency: data.currency,
            unit_amount: data.unit_amount,
            unit_amount_decimal: data.unit_amount_decimal,
            recurring: data.recurring,
            tax_behavior: data.tax_behavior,
          },
          productId,
        );
      }
      const quantity = isMetered(row) ? null : (input.quantity ?? 1);
      const product = ctx.store.of(Products).get(row.product as string);
      const subtotal = quantity === null ? 0 : amountFor(ctx, row, quantity);
      const adjustable = input.adjustable_quantity;
      return {
        id: `li_${randomAlphanumeric(24)}`,
        object: 'item',
        adjustable_quantity: adjustable
          ? {
              enabled: adjustable.enabled,
              maximum: adjustable.enabled ? (adjustable.maximum ?? 99) : null,
              minimum: adjustable.enabled ? (adjustable.minimum ?? 0) : null,
            }
          : null,
        amount_discount: 0,
        amount_subtotal: subtotal,
        amount_tax: 0,
        amount_total: subtotal,
        currency: row.currency,
        description: product?.name ?? null,
        metadata: mergeMetadata({}, input.metadata),
        price: row,
        quantity,
      } satisfies CheckoutLineItem;
    });
  const preview = () =>
    resolved.map(({ input, price }, i): CheckoutLineItem => {
      const data = input.price_data;
      const quantity = isMetered(price ?? null) ? 0 : (input.quantity ?? 1);
      const unit = Number(data?.unit_amount_decimal ?? data?.unit_amount ?? 0);
      const subtotal = price ? amountFor(ctx, price, quantity) : Math.round(unit * quantity);
      return {
        id: `preview_${i}`,
        object: 'item',
        adjustable_quantity: null,
        amount_discount: 0,
        amount_subtotal: subtotal,
        amount_tax: 0,
        amount_total: subtotal,
        currency: price?.currency ?? data!.currency,
        description: null,
        metadata: {},
        price: (price ?? { product: data?.product ?? null }) as PriceRow,
        quantity,
      };
    });
  return { currency: [...currencies][0] ?? null, preview, create };
}

/** The coupon ids behind `discounts[]` (coupons and promotion codes), validated. */
export function resolveDiscounts(
  ctx: Emulator,
  discounts: DiscountInput[],
  currency: string | null,
): string[] {
  if (discounts.length > 1) {
    throw invalidRequest('You may only specify one discount.', 'discounts', 'parameter_invalid_array');
  }
  return discounts.map((d, i) => {
    const param = `discounts[${i}]`;
    if (d.coupon && d.promotion_code) {
      throw invalidRequest('You may only specify one of these parameters: coupon, promotion_code.', param);
    }
    let couponId = d.coupon;
    if (d.promotion_code) {
      const code = ctx.store.of(PromotionCodes).require(d.promotion_code, `${param}[promotion_code]`);
      if (!promotionCodeIsUsable(ctx, code)) {
        throw invalidRequest(
          `This promotion code cannot be redeemed: ${code.code}.`,
          `${param}[promotion_code]`,
          'promotion_code_invalid',
        );
      }
      couponId = code.promotion.coupon as string;
    }
    if (!couponId) {
      throw invalidRequest(
        `You must specify either \`coupon\` or \`promotion_code\` in \`${param}\`.`,
        param,
        'parameter_missing',
      );
    }
    const coupon = ctx.store.of(Coupons).require(couponId, `${param}[coupon]`);
    if (!couponIsValid(ctx, coupon)) {
      throw invalidRequest(`Coupon expired: ${coupon.id}`, `${param}[coupon]`, 'coupon_expired');
    }
    if (coupon.amount_off !== null && currency && coupon.currency !== currency) {
      throw invalidRequest(
        `The coupon's currency (${coupon.currency}) does not match the currency of the Checkout Session (${currency}).`,
        `${param}[coupon]`,
      );
    }
    return coupon.id;
  });
}

/** Apply the coupons to the line items (percent or amount off, applies_to products). */
export function applyDiscounts(
  ctx: Emulator,
  items: CheckoutLineItem[],
  couponIds: string[],
): CheckoutLineItem[] {
  let out = items.map((item) => ({ ...item, amount_discount: 0, amount_total: item.amount_subtotal }));
  for (const couponId of couponIds) {
    const coupon = ctx.store.of(Coupons).get(couponId);
    if (!coupon) continue;
    const products = ctx.store.of(Coupons).meta(couponId)?.applies_to?.products;
    const applies = (item: CheckoutLineItem) =>
      !products?.length || (item.price !== null && products.includes(item.price.product as string));
    const eligible = out.filter(applies);
    const base = eligible.reduce((sum, item) => sum + item.amount_total, 0);
    let remaining = coupon.amount_off !== null ? Math.min(coupon.amount_off, base) : 0;
    out = out.map((item) => {
      if (!applies(item) || item.amount_total === 0) return item;
      let off: number;
      if (coupon.percent_off !== null) off = Math.round((item.amount_total * coupon.percent_off) / 100);
      else {
        const last = eligible[eligible.length - 1]?.id === item.id;
        off = last
          ? remaining
          : Math.min(remaining, Math.round(((coupon.amount_off ?? 0) * item.amount_total) / base));
        remaining -= off;
      }
      off = Math.min(off, item.amount_total);
      return { ...item, amount_discount: item.amount_discount + off, amount_total: item.amount_total - off };
    });
  }
  return out;
}

export interface SessionAmounts {
  amount_subtotal: number | null;
  amount_total: number | null;
  total_details: Stripe.Checkout.Session.TotalDetails | null;
}

/**
 * Session totals: the sum of its line items. In subscription mode with a trial nothing is
 * due today, so the totals are 0 (the line items still show the recurring amounts).
 */
export function sessionAmounts(mode: string, items: CheckoutLineItem[], trialing: boolean): SessionAmounts {
  if (mode === 'setup') return { amount_subtotal: null, amount_total: null, total_details: null };
  const subtotal = items.reduce((sum, item) => sum + item.amount_subtotal, 0);
  const discount = items.reduce((sum, item) => sum + item.amount_discount, 0);
  if (trialing) {
    return {
      amount_subtotal: 0,
      amount_total: 0,
      total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    };
  }
  return {
    amount_subtotal: subtotal,
    amount_total: subtotal - discount,
    total_details: { amount_discount: discount, amount_shipping: 0, amount_tax: 0 },
  };
}

/** Stripe's minimum charge in payment mode. */
export function checkMinimumAmount(amount: number, currency: string): void {
  const minimum = TWO_DECIMAL_MINIMUMS[currency] ?? 1;
  if (amount < minimum) {
    throw invalidRequest(
      `The Checkout Session's total amount due must add up to at least ${minimum} ${currency} (in the smallest currency unit).`,
      'line_items',
      'amount_too_small',
    );
  }
}
