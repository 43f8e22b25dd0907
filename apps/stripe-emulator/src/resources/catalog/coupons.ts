/**
 * /v1/coupons: create (percent_off or amount_off+currency; once / repeating / forever;
 * max_redemptions, redeem_by, applies_to), retrieve, update (name, metadata), delete, list.
 * `redeemCoupon` is for the billing engine when a discount is applied.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent } from '../../core/events.ts';
import { randomAlphanumeric } from '../../core/ids.ts';
import { inRange, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { mergeMetadata } from '../shared.ts';
import { Coupons, Products } from './tables.ts';

/** Stripe flips `valid` once redeem_by passed or max_redemptions is reached. */
export function couponIsValid(ctx: Emulator, coupon: Stripe.Coupon): boolean {
  if (coupon.redeem_by !== null && ctx.clock.now() > coupon.redeem_by) return false;
  if (coupon.max_redemptions !== null && coupon.times_redeemed >= coupon.max_redemptions) return false;
  return true;
}

/** The stored coupon with `valid` brought up to date (it depends on time). */
export function currentCoupon(ctx: Emulator, coupon: Stripe.Coupon): Stripe.Coupon {
  const valid = couponIsValid(ctx, coupon);
  return valid === coupon.valid ? coupon : ctx.store.of(Coupons).update(coupon.id, { valid });
}

/** Count one redemption (a discount applied to a customer or subscription). */
export function redeemCoupon(ctx: Emulator, couponId: string, param = 'coupon'): Stripe.Coupon {
  const table = ctx.store.of(Coupons);
  const coupon = currentCoupon(ctx, table.require(couponId, param));
  if (!coupon.valid) {
    throw invalidRequest(`Coupon expired: ${coupon.id}`, param, 'coupon_expired');
  }
  const next = table.update(coupon.id, { times_redeemed: coupon.times_redeemed + 1 });
  return currentCoupon(ctx, next);
}

export const couponsModule: EmulatorModule = {
  name: 'coupons',
  register(app) {
    app.post(
      '/v1/coupons',
      {
        id: p.string(),
        amount_off: p.int({ min: 1 }),
        percent_off: p.number({ min: 0, max: 100 }),
        currency: p.currency(),
        currency_options: p.any(),
        duration: p.enum(['once', 'repeating', 'forever']),
        duration_in_months: p.int({ min: 1 }),
        max_redemptions: p.int({ min: 1 }),
        redeem_by: p.timestamp(),
        name: p.string({ maxLength: 40 }),
        metadata: p.metadata(),
        applies_to: p.object({ products: p.array(p.string()) }),
      },
      (req) => {
        const { ctx, params } = req;
        const table = ctx.store.of(Coupons);
        if ((params.amount_off === undefined) === (params.percent_off === undefined)) {
          throw invalidRequest('You must pass exactly one of percent_off or amount_off.', 'percent_off');
        }
        if (params.percent_off !== undefined && params.percent_off <= 0) {
          throw invalidRequest('Invalid percent_off: must be greater than 0', 'percent_off');
        }
        if (params.amount_off !== undefined && !params.currency) {
          throw invalidRequest(
            'You must pass currency when passing amount_off.',
            'currency',
            'parameter_missing',
          );
        }
        const duration = params.duration ?? 'once';
        if (duration === 'repeating' && params.duration_in_months === undefined) {
          throw invalidRequest(
            'You must pass duration_in_months when duration is repeating.',
            'duration_in_months',
            'parameter_missing',
          );
        }
        if (duration !== 'repeating' && params.duration_in_months !== undefined) {
          throw invalidRequest(
            'duration_in_months is only valid when duration is repeating.',
            'duration_in_months',
          );
        }
        if (params.redeem_by !== undefined && params.redeem_by <= ctx.clock.now()) {
          throw invalidRequest('redeem_by must be in the future.', 'redeem_by');
        }
        if (params.id && (table.has(params.id) || table.deleted.has(params.id))) {
          throw invalidRequest('Coupon already exists.', 'id', 'resource_already_exists');
        }
        for (const [i, product] of (params.applies_to?.products ?? []).entries()) {
          ctx.store.of(Products).require(product, `applies_to[products][${i}]`);
        }
        const coupon: Stripe.Coupon = {
          id: params.id ?? randomAlphanumeric(8),
          object: 'coupon',
          amount_off: params.amount_off ?? null,
          created: ctx.clock.now(),
          currency: params.amount_off !== undefined ? (params.currency ?? null) : null,
          duration,
          duration_in_months: params.duration_in_months ?? null,
          livemode: false,
          max_redemptions: params.max_redemptions ?? null,
          metadata: mergeMetadata({}, params.metadata),
          name: params.name ?? null,
          percent_off: params.percent_off ?? null,
          redeem_by: params.redeem_by ?? null,
          times_redeemed: 0,
          valid: true,
        };
        table.insert(
          coupon,
          params.applies_to ? { applies_to: { products: params.applies_to.products ?? [] } } : {},
        );
        emitEvent(ctx, 'coupon.created', coupon);
        return coupon;
      },
    );

    app.get('/v1/coupons/:id', {}, (req) =>
      currentCoupon(req.ctx, req.ctx.store.of(Coupons).require(req.path.id!)),
    );

    app.post(
      '/v1/coupons/:id',
      { name: p.emptyable(p.string({ maxLength: 40 })), metadata: p.metadata(), currency_options: p.any() },
      (req) => {
        const table = req.ctx.store.of(Coupons);
        const old = table.require(req.path.id!);
        const next = table.replace({
          ...old,
          name: req.params.name === undefined ? old.name : req.params.name,
          metadata: mergeMetadata(old.metadata ?? {}, req.params.metadata),
        });
        emitEvent(req.ctx, 'coupon.updated', next, { previousAttributes: diff(old, next) });
        return next;
      },
    );

    app.del('/v1/coupons/:id', {}, (req) => {
      const table = req.ctx.store.of(Coupons);
      const coupon = table.require(req.path.id!);
      table.delete(coupon.id);
      emitEvent(req.ctx, 'coupon.deleted', coupon);
      return { id: coupon.id, object: 'coupon', deleted: true };
    });

    app.list('/v1/coupons', { created: p.range() }, (req) => {
      const table = req.ctx.store.of(Coupons);
      const rows = table
        .sorted((c) => inRange(c.created, req.params.created))
        .map((c) => currentCoupon(req.ctx, c));
      return paginate(req, rows, table);
    });

    // applies_to is only returned when expanded, like Stripe.
    app.virtualExpansion(
      'coupon',
      'applies_to',
      (ctx, row) => ctx.store.of(Coupons).meta(row.id as string)?.applies_to ?? { products: [] },
    );
  },
};
