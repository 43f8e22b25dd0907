/**
 * /v1/promotion_codes: customer-facing codes for a coupon. Since 2025-09-30.clover the
 * coupon is given as `promotion: { type: 'coupon', coupon }` and rendered the same way.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent } from '../../core/events.ts';
import { randomAlphanumeric } from '../../core/ids.ts';
import { inRange, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest, parameterMissing, parameterUnknown } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { isBefore } from '../../http/versions.ts';
import { Customers } from '../customers/tables.ts';
import { mergeMetadata } from '../shared.ts';
import { couponIsValid } from './coupons.ts';
import { Coupons, PromotionCodes } from './tables.ts';

/** Whether a promotion code can be applied now (active, not expired, redemptions left). */
export function promotionCodeIsUsable(ctx: Emulator, code: Stripe.PromotionCode): boolean {
  if (!code.active) return false;
  if (code.expires_at !== null && ctx.clock.now() > code.expires_at) return false;
  if (code.max_redemptions !== null && code.times_redeemed >= code.max_redemptions) return false;
  const couponId = code.promotion.coupon;
  const coupon = typeof couponId === 'string' ? ctx.store.of(Coupons).get(couponId) : undefined;
  return !!coupon && couponIsValid(ctx, coupon);
}

const restrictionsParams = p.object({
  first_time_transaction: p.bool(),
  minimum_amount: p.int({ min: 0 }),
  minimum_amount_currency: p.currency(),
  currency_options: p.any(),
});

export const promotionCodesModule: EmulatorModule = {
  name: 'promotion_codes',
  register(app) {
    app.post(
      '/v1/promotion_codes',
      {
        promotion: p.object({ type: p.required(p.literal('coupon')), coupon: p.string() }),
        coupon: p.string(),
        active: p.bool(),
        code: p.string({ maxLength: 500 }),
        customer: p.string(),
        customer_account: p.string(),
        expires_at: p.timestamp(),
        max_redemptions: p.int({ min: 1 }),
        metadata: p.metadata(),
        restrictions: restrictionsParams,
      },
      (req) => {
        const { ctx, params } = req;
        // Before 2025-09-30.clover the coupon was a top-level `coupon` parameter.
        if (params.coupon !== undefined && !isBefore(req.apiVersion, '2025-09-30')) {
          throw parameterUnknown('coupon');
        }
        if (!params.promotion && params.coupon === undefined) throw parameterMissing('promotion');
        const couponId = params.promotion?.coupon ?? params.coupon;
        if (!couponId) {
          throw invalidRequest(
            'Missing required param: promotion[coupon].',
            'promotion[coupon]',
            'parameter_missing',
          );
        }
        const coupon = ctx.store.of(Coupons).require(couponId, 'promotion[coupon]');
        if (!couponIsValid(ctx, coupon)) {
          throw invalidRequest(
            `Coupon ${coupon.id} is no longer valid.`,
            'promotion[coupon]',
            'coupon_expired',
          );
        }
        if (params.customer) ctx.store.of(Customers).require(params.customer, 'customer');
        const table = ctx.store.of(PromotionCodes);
        const code = params.code ?? randomAlphanumeric(8).toUpperCase();
        if (!/^[a-zA-Z0-9_-]+$/.test(code)) {
          throw invalidRequest(
            'Promotion codes may only contain letters, digits, dashes and underscores.',
            'code',
          );
        }
        for (const other of table.values()) {
          if (other.active && other.code.toLowerCase() === code.toLowerCase()) {
            throw invalidRequest(
              `An active promotion code with \`code: ${code}\` already exists.`,
              'code',
              'resource_already_exists',
            );
          }
        }
        if (
          params.restrictions?.minimum_amount !== undefined &&
          !params.restrictions.minimum_amount_currency
        ) {
          throw invalidRequest(
            'minimum_amount_currency is required with minimum_amount.',
            'restrictions[minimum_amount_currency]',
            'parameter_missing',
          );
        }
        const promo: Stripe.PromotionCode = {
          id: table.newId(),
          object: 'promotion_code',
          active: params.active ?? true,
          code,
          created: ctx.clock.now(),
          customer: params.customer ?? null,
          customer_account: null,
          expires_at: params.expires_at ?? null,
          livemode: false,
          max_redemptions: params.max_redemptions ?? null,
          metadata: mergeMetadata({}, params.metadata),
          promotion: { type: 'coupon', coupon: coupon.id },
          restrictions: {
            first_time_transaction: params.restrictions?.first_time_transaction ?? false,
            minimum_amount: params.restrictions?.minimum_amount ?? null,
            minimum_amount_currency: params.restrictions?.minimum_amount_currency ?? null,
          },
          times_redeemed: 0,
        };
        table.insert(promo);
        emitEvent(ctx, 'promotion_code.created', promo);
        return promo;
      },
    );

    app.get('/v1/promotion_codes/:id', {}, (req) => req.ctx.store.of(PromotionCodes).require(req.path.id!));

    app.post(
      '/v1/promotion_codes/:id',
      { active: p.bool(), metadata: p.metadata(), restrictions: p.object({ currency_options: p.any() }) },
      (req) => {
        const table = req.ctx.store.of(PromotionCodes);
        const old = table.require(req.path.id!);
        const next = table.replace({
          ...old,
          active: req.params.active ?? old.active,
          metadata: mergeMetadata(old.metadata ?? {}, req.params.metadata),
        });
        emitEvent(req.ctx, 'promotion_code.updated', next, { previousAttributes: diff(old, next) });
        return next;
      },
    );

    app.list(
      '/v1/promotion_codes',
      {
        active: p.bool(),
        code: p.string(),
        coupon: p.string(),
        customer: p.string(),
        customer_account: p.string(),
        created: p.range(),
      },
      (req) => {
        const { active, code, coupon, customer, created } = req.params;
        const table = req.ctx.store.of(PromotionCodes);
        const rows = table.sorted(
          (x) =>
            (active === undefined || x.active === active) &&
            (!code || x.code.toLowerCase() === code.toLowerCase()) &&
            (!coupon || x.promotion.coupon === coupon) &&
            (!customer || x.customer === customer) &&
            inRange(x.created, created),
        );
        return paginate(req, rows, table);
      },
    );
  },
};
