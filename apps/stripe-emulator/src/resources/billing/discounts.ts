/**
 * Discounts: `discounts[]` params (coupon | promotion_code | discount) become Discount objects
 * (`di_...`) on a subscription or invoice, and invoices apply them to their lines.
 *
 * Durations: `once` applies to the first invoice only, `repeating` while the invoice date is
 * before `end` (start + duration_in_months), `forever` always. Amounts: percent_off per
 * discountable line (rounded half away from zero, sign kept so a proration credit is
 * discounted like its debit); amount_off across the discountable positive lines in proportion,
 * capped at their total. Coupons with `applies_to.products` only touch lines of those products.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { invalidRequest } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { currentCoupon, redeemCoupon } from '../catalog/coupons.ts';
import { promotionCodeIsUsable } from '../catalog/promotion-codes.ts';
import { Coupons, PromotionCodes } from '../catalog/tables.ts';
import { Discounts, type LineRow } from './tables.ts';
import { addIntervals } from './time-money.ts';

export const discountParams = p.emptyable(
  p.array(p.object({ coupon: p.string(), discount: p.string(), promotion_code: p.string() })),
);

export type DiscountParam = { coupon?: string; discount?: string; promotion_code?: string };

export type DiscountSpec =
  | { kind: 'new'; coupon: Stripe.Coupon; promotionCode: string | null }
  | { kind: 'existing'; discount: Stripe.Discount };

/** Validate `discounts[]` before anything changes. */
export function resolveDiscountSpecs(
  ctx: Emulator,
  params: DiscountParam[],
  customer: string,
  param = 'discounts',
): DiscountSpec[] {
  const out: DiscountSpec[] = [];
  const seen = new Set<string>();
  params.forEach((d, i) => {
    const given = [d.coupon, d.discount, d.promotion_code].filter((x) => x !== undefined).length;
    if (given !== 1) {
      throw invalidRequest(
        'You must specify exactly one of coupon, discount, or promotion_code.',
        `${param}[${i}]`,
      );
    }
    let spec: DiscountSpec;
    if (d.coupon !== undefined) {
      const coupon = currentCoupon(ctx, ctx.store.of(Coupons).require(d.coupon, `${param}[${i}][coupon]`));
      if (!coupon.valid) {
        throw invalidRequest(`Coupon expired: ${coupon.id}`, `${param}[${i}][coupon]`, 'coupon_expired');
      }
      spec = { kind: 'new', coupon, promotionCode: null };
    } else if (d.promotion_code !== undefined) {
      const promo = ctx.store.of(PromotionCodes).require(d.promotion_code, `${param}[${i}][promotion_code]`);
      if (!promotionCodeIsUsable(ctx, promo) || (promo.customer && promo.customer !== customer)) {
        throw invalidRequest(
          `This promotion code cannot be redeemed because the associated customer or promotion code restrictions are not satisfied: ${promo.code}`,
          `${param}[${i}][promotion_code]`,
        );
      }
      const coupon = ctx.store.of(Coupons).require(promo.promotion.coupon as string);
      spec = { kind: 'new', coupon, promotionCode: promo.id };
    } else {
      const discount = ctx.store.of(Discounts).require(d.discount!, `${param}[${i}][discount]`);
      spec = { kind: 'existing', discount };
    }
    const key = spec.kind === 'new' ? `c:${spec.coupon.id}` : `d:${spec.discount.id}`;
    if (seen.has(key)) throw invalidRequest('The same discount was given twice.', `${param}[${i}]`);
    seen.add(key);
    out.push(spec);
  });
  return out;
}

export interface DiscountOwner {
  customer: string;
  subscription?: string | null;
  invoice?: string | null;
  invoice_item?: string | null;
}

/** Create the Discount objects (redeeming coupons and promotion codes); returns their ids. */
export function createDiscounts(
  ctx: Emulator,
  specs: DiscountSpec[],
  owner: DiscountOwner,
  start: number,
): string[] {
  const table = ctx.store.of(Discounts);
  return specs.map((spec) => {
    if (spec.kind === 'existing') return spec.discount.id;
    const coupon = redeemCoupon(ctx, spec.coupon.id);
    if (spec.promotionCode) {
      const promos = ctx.store.of(PromotionCodes);
      const promo = promos.require(spec.promotionCode);
      promos.update(promo.id, { times_redeemed: promo.times_redeemed + 1 });
    }
    const discount: Stripe.Discount = {
      id: table.newId(),
      object: 'discount',
      checkout_session: null,
      customer: owner.customer,
      customer_account: null,
      end:
        coupon.duration === 'repeating' && coupon.duration_in_months
          ? addIntervals(start, { interval: 'month', interval_count: coupon.duration_in_months }, 1)
          : null,
      invoice: owner.invoice ?? null,
      invoice_item: owner.invoice_item ?? null,
      promotion_code: spec.promotionCode,
      source: { coupon: coupon.id, type: 'coupon' },
      start,
      subscription: owner.subscription ?? null,
      subscription_item: null,
    };
    table.insert(discount, { invoices: [] });
    return discount.id;
  });
}

/** Does this discount still apply to an invoice dated `at`? */
export function discountActive(ctx: Emulator, discountId: string, at: number): boolean {
  const table = ctx.store.of(Discounts);
  const discount = table.get(discountId);
  if (!discount) return false;
  const coupon = ctx.store.of(Coupons).get(discount.source.coupon as string);
  if (!coupon) return false;
  if (coupon.duration === 'once') return (table.meta(discountId)?.invoices.length ?? 0) === 0;
  if (discount.end !== null && at >= discount.end) return false;
  return true;
}

/** Remember that an invoice used these discounts (ends `once` coupons). */
export function recordDiscountUse(ctx: Emulator, discountIds: string[], invoiceId: string): void {
  const table = ctx.store.of(Discounts);
  for (const id of discountIds) {
    const meta = table.meta(id) ?? { invoices: [] };
    if (!meta.invoices.includes(invoiceId)) table.setMeta(id, { invoices: [...meta.invoices, invoiceId] });
  }
}

function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

export interface DiscountResult {
  lines: LineRow[];
  totals: { amount: number; discount: string }[];
}

/** Apply invoice-level discounts to the lines (line.discount_amounts, invoice totals). */
export function applyDiscounts(
  ctx: Emulator,
  lines: LineRow[],
  discountIds: string[],
  currency: string,
  /** Discounts that are not stored (previews): id -> coupon. */
  virtual: Record<string, string> = {},
): DiscountResult {
  const perLine = lines.map(() => [] as { amount: number; discount: string }[]);
  const remaining = lines.map((l) => l.amount);
  const totals: { amount: number; discount: string }[] = [];
  for (const id of discountIds) {
    const couponId = virtual[id] ?? (ctx.store.of(Discounts).get(id)?.source.coupon as string | undefined);
    const coupon = couponId ? ctx.store.of(Coupons).get(couponId) : undefined;
    if (!coupon) continue;
    const products = ctx.store.of(Coupons).meta(coupon.id)?.applies_to?.products;
    const eligible = lines.map(
      (l) =>
        l.discountable && (!products?.length || products.includes(l.pricing?.price_details?.product ?? '')),
    );
    let total = 0;
    if (coupon.percent_off !== null) {
      lines.forEach((_, i) => {
        if (!eligible[i] || remaining[i] === 0) return;
        const amount = roundHalfAway((remaining[i]! * coupon.percent_off!) / 100);
        if (amount === 0) return;
        perLine[i]!.push({ amount, discount: id });
        remaining[i]! -= amount;
        total += amount;
      });
    } else if (coupon.amount_off !== null && coupon.currency === currency) {
      const base = lines.reduce(
        (sum, _, i) => sum + (eligible[i] && remaining[i]! > 0 ? remaining[i]! : 0),
        0,
      );
      const off = Math.min(coupon.amount_off, base);
      let left = off;
      const indexes = lines.map((_, i) => i).filter((i) => eligible[i] && remaining[i]! > 0);
      indexes.forEach((i, k) => {
        const amount = k === indexes.length - 1 ? left : Math.floor((off * remaining[i]!) / base);
        if (amount === 0) return;
        perLine[i]!.push({ amount, discount: id });
        remaining[i]! -= amount;
        left -= amount;
        total += amount;
      });
    }
    totals.push({ amount: total, discount: id });
  }
  return {
    lines: lines.map((l, i) => ({
      ...l,
      discount_amounts: perLine[i]!,
      pretax_credit_amounts: perLine[i]!.map((d) => ({ ...d, type: 'discount' as const })),
    })),
    totals,
  };
}
