/**
 * Catalog tables. Prices are stored in their wire shape: decimal fields are strings (the SDK
 * turns them into Decimal objects on its side). Tiers and currency_options are only returned
 * when expanded (like Stripe), so they live in the price's meta; read them with `priceTiers`.
 */
import type Stripe from 'stripe';
import { defineTable } from '../../core/store.ts';

export const Products = defineTable<Stripe.Product>({ object: 'product', prefix: 'prod' });

export interface TierRow {
  flat_amount: number | null;
  flat_amount_decimal: string | null;
  unit_amount: number | null;
  unit_amount_decimal: string | null;
  /** null = "inf" (the last tier). */
  up_to: number | null;
}

/** Stripe.Price as it travels on the wire (decimals as strings, tiers kept in meta). */
export type PriceRow = Omit<Stripe.Price, 'unit_amount_decimal' | 'tiers' | 'currency_options'> & {
  unit_amount_decimal: string | null;
};

export interface PriceMeta {
  tiers?: TierRow[];
  currency_options?: Record<string, unknown>;
}

export const Prices = defineTable<PriceRow, PriceMeta>({ object: 'price', prefix: 'price' });

export interface CouponMeta {
  applies_to?: { products: string[] };
}

/** Coupon ids are chosen by the caller (or 8 random characters), so no prefix. */
export const Coupons = defineTable<Stripe.Coupon, CouponMeta>({ object: 'coupon', prefix: '' });

export const PromotionCodes = defineTable<Stripe.PromotionCode>({
  object: 'promotion_code',
  prefix: 'promo',
  name: 'promotion code',
});
