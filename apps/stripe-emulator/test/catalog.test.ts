import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { amountFor } from '../src/resources/catalog/pricing.ts';
import { Prices } from '../src/resources/catalog/tables.ts';
import { eventsOfType, startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.stop());

describe('products', () => {
  test('create, update, list and search; default_price_data creates the price', async () => {
    const product = await t.stripe.products.create({
      name: 'Pro plan',
      metadata: { tier: 'pro' },
      default_price_data: { currency: 'eur', unit_amount: 2900, recurring: { interval: 'month' } },
    });
    expect(product).toMatchObject({ object: 'product', active: true, name: 'Pro plan', type: 'service' });
    expect(product.id).toMatch(/^prod_/);
    const price = await t.stripe.prices.retrieve(product.default_price as string);
    expect(price).toMatchObject({
      product: product.id,
      unit_amount: 2900,
      currency: 'eur',
      type: 'recurring',
    });

    const updated = await t.stripe.products.update(product.id, { description: 'For teams', active: false });
    expect(updated).toMatchObject({ description: 'For teams', active: false });
    const inactive = await t.stripe.products.list({ active: false });
    expect(inactive.data.map((p) => p.id)).toContain(product.id);
    const found = await t.stripe.products.search({ query: "metadata['tier']:'pro'" });
    expect(found.data.map((p) => p.id)).toEqual([product.id]);
    const events = (await t.stripe.events.list({ type: 'product.*' })).data.map((e) => e.type);
    expect(events).toEqual(expect.arrayContaining(['product.created', 'product.updated']));
  });

  test('custom ids, duplicates refused; delete only without prices', async () => {
    const product = await t.stripe.products.create({ id: 'plan_basic', name: 'Basic' });
    expect(product.id).toBe('plan_basic');
    await expect(t.stripe.products.create({ id: 'plan_basic', name: 'Again' })).rejects.toMatchObject({
      statusCode: 400,
      code: 'resource_already_exists',
    });
    await t.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 100 });
    await expect(t.stripe.products.del(product.id)).rejects.toMatchObject({ statusCode: 400 });
    const empty = await t.stripe.products.create({ name: 'Empty' });
    expect(await t.stripe.products.del(empty.id)).toMatchObject({ deleted: true });
    expect((await eventsOfType(t.stripe, 'product.deleted'))[0]!.data.object).toMatchObject({ id: empty.id });
  });
});

describe('prices', () => {
  test('recurring intervals with interval_count, inline product_data, price.created', async () => {
    const price = await t.stripe.prices.create({
      currency: 'usd',
      unit_amount: 12000,
      recurring: { interval: 'week', interval_count: 2 },
      product_data: { name: 'Biweekly' },
    });
    expect(price.recurring).toEqual({
      interval: 'week',
      interval_count: 2,
      meter: null,
      trial_period_days: null,
      usage_type: 'licensed',
    });
    expect(price.billing_scheme).toBe('per_unit');
    expect(String(price.unit_amount_decimal)).toBe('12000');
    expect((await t.stripe.products.retrieve(price.product as string)).name).toBe('Biweekly');
    expect(
      (await eventsOfType(t.stripe, 'price.created')).map((e) => (e.data.object as { id: string }).id),
    ).toContain(price.id);
    await expect(
      t.stripe.prices.create({
        currency: 'usd',
        unit_amount: 1,
        recurring: { interval: 'year', interval_count: 4 },
        product_data: { name: 'x' },
      }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'recurring[interval_count]' });
  });

  test('tiered graduated and volume prices with up_to inf; tiers only when expanded', async () => {
    const product = await t.stripe.products.create({ name: 'Seats' });
    const graduated = await t.stripe.prices.create({
      product: product.id,
      currency: 'usd',
      recurring: { interval: 'month' },
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      tiers: [
        { up_to: 5, unit_amount: 1000 },
        { up_to: 'inf', unit_amount_decimal: Stripe.Decimal.from('750.5'), flat_amount: 100 },
      ],
    });
    expect(graduated).toMatchObject({ billing_scheme: 'tiered', tiers_mode: 'graduated', unit_amount: null });
    expect(graduated.tiers).toBeUndefined();
    const expanded = await t.stripe.prices.retrieve(graduated.id, { expand: ['tiers'] });
    expect(expanded.tiers).toHaveLength(2);
    expect(expanded.tiers![0]).toMatchObject({ up_to: 5, unit_amount: 1000 });
    expect(expanded.tiers![1]!.up_to).toBeNull();
    expect(String(expanded.tiers![1]!.unit_amount_decimal)).toBe('750.5');
    // White-box: the arithmetic billing code will use.
    const ctx = t.emulator.ctx;
    const row = ctx.store.of(Prices).get(graduated.id)!;
    expect(amountFor(ctx, row, 7)).toBe(5 * 1000 + Math.round(2 * 750.5 + 100));

    const volume = await t.stripe.prices.create({
      product: product.id,
      currency: 'usd',
      billing_scheme: 'tiered',
      tiers_mode: 'volume',
      tiers: [
        { up_to: 10, unit_amount: 500 },
        { up_to: 'inf', unit_amount: 400 },
      ],
    });
    expect(amountFor(ctx, ctx.store.of(Prices).get(volume.id)!, 12)).toBe(12 * 400);
    await expect(
      t.stripe.prices.create({
        product: product.id,
        currency: 'usd',
        billing_scheme: 'tiered',
        tiers: [{ up_to: 'inf', unit_amount: 1 }],
      }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'tiers_mode' });
  });

  test('transform_quantity and unit_amount_decimal', async () => {
    const product = await t.stripe.products.create({ name: 'Packs' });
    const pack = await t.stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 1000,
      transform_quantity: { divide_by: 100, round: 'up' },
    });
    expect(pack.transform_quantity).toEqual({ divide_by: 100, round: 'up' });
    const ctx = t.emulator.ctx;
    expect(amountFor(ctx, ctx.store.of(Prices).get(pack.id)!, 101)).toBe(2000);
    const fractional = await t.stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount_decimal: Stripe.Decimal.from('0.35'),
    });
    expect(fractional.unit_amount).toBeNull();
    expect(fractional.unit_amount_decimal).toBeInstanceOf(Object);
    expect(String(fractional.unit_amount_decimal)).toBe('0.35');
    expect(amountFor(ctx, ctx.store.of(Prices).get(fractional.id)!, 10)).toBe(4);
  });

  test('amounts are immutable, active=false archives, filters and search', async () => {
    const product = await t.stripe.products.create({ name: 'Immutable' });
    const price = await t.stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 500,
      nickname: 'a',
    });
    await expect(t.stripe.prices.update(price.id, { unit_amount: 600 } as never)).rejects.toMatchObject({
      statusCode: 400,
      code: 'parameter_unknown',
      param: 'unit_amount',
    });
    const archived = await t.stripe.prices.update(price.id, { active: false, metadata: { why: 'old' } });
    expect(archived.active).toBe(false);
    const [updatedEvent] = await eventsOfType(t.stripe, 'price.updated');
    expect(updatedEvent!.data.previous_attributes).toMatchObject({ active: true });
    const active = await t.stripe.prices.list({ product: product.id, active: true });
    expect(active.data).toHaveLength(0);
    const oneTime = await t.stripe.prices.list({ product: product.id, type: 'one_time' });
    expect(oneTime.data.map((p) => p.id)).toEqual([price.id]);
    const search = await t.stripe.prices.search({ query: `product:'${product.id}' AND active:'false'` });
    expect(search.data.map((p) => p.id)).toEqual([price.id]);
  });

  test('lookup_key is unique; transfer_lookup_key moves it', async () => {
    const product = await t.stripe.products.create({ name: 'Lookup' });
    const v1 = await t.stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 100,
      lookup_key: 'pro_monthly',
    });
    await expect(
      t.stripe.prices.create({
        product: product.id,
        currency: 'usd',
        unit_amount: 200,
        lookup_key: 'pro_monthly',
      }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'lookup_key' });
    const v2 = await t.stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 200,
      lookup_key: 'pro_monthly',
      transfer_lookup_key: true,
    });
    expect((await t.stripe.prices.retrieve(v1.id)).lookup_key).toBeNull();
    const byKey = await t.stripe.prices.list({ lookup_keys: ['pro_monthly', 'missing'] });
    expect(byKey.data.map((p) => p.id)).toEqual([v2.id]);
  });

  test('product or product_data is required, and unit_amount for per_unit prices', async () => {
    await expect(t.stripe.prices.create({ currency: 'usd', unit_amount: 1 })).rejects.toMatchObject({
      statusCode: 400,
    });
    const product = await t.stripe.products.create({ name: 'Needs amount' });
    await expect(t.stripe.prices.create({ currency: 'usd', product: product.id })).rejects.toMatchObject({
      code: 'parameter_missing',
    });
  });
});

describe('coupons and promotion codes', () => {
  test('percent and amount coupons with durations; validation', async () => {
    const percent = await t.stripe.coupons.create({
      percent_off: 25,
      duration: 'repeating',
      duration_in_months: 3,
    });
    expect(percent).toMatchObject({
      object: 'coupon',
      percent_off: 25,
      duration_in_months: 3,
      valid: true,
      times_redeemed: 0,
    });
    const amount = await t.stripe.coupons.create({
      id: 'TENOFF',
      amount_off: 1000,
      currency: 'usd',
      duration: 'forever',
      max_redemptions: 5,
      name: 'Ten off',
    });
    expect(amount).toMatchObject({ id: 'TENOFF', amount_off: 1000, currency: 'usd', duration: 'forever' });
    await expect(t.stripe.coupons.create({ percent_off: 10, duration: 'repeating' })).rejects.toMatchObject({
      param: 'duration_in_months',
    });
    await expect(t.stripe.coupons.create({ amount_off: 10 })).rejects.toMatchObject({ param: 'currency' });
    await expect(t.stripe.coupons.create({ duration: 'once' })).rejects.toMatchObject({ statusCode: 400 });
    const renamed = await t.stripe.coupons.update('TENOFF', { name: 'Ten dollars off' });
    expect(renamed.name).toBe('Ten dollars off');
    await expect(t.stripe.coupons.update('TENOFF', { percent_off: 5 } as never)).rejects.toMatchObject({
      code: 'parameter_unknown',
    });
    expect((await eventsOfType(t.stripe, 'coupon.created')).length).toBeGreaterThanOrEqual(2);
  });

  test('applies_to and redeem_by', async () => {
    const product = await t.stripe.products.create({ name: 'Discounted' });
    const coupon = await t.stripe.coupons.create({
      percent_off: 50,
      applies_to: { products: [product.id] },
      redeem_by: t.emulator.control.now() + 3600,
    });
    const expanded = await t.stripe.coupons.retrieve(coupon.id, { expand: ['applies_to'] });
    expect(expanded.applies_to).toEqual({ products: [product.id] });
    t.emulator.control.advanceTime({ seconds: 7200 });
    expect((await t.stripe.coupons.retrieve(coupon.id)).valid).toBe(false);
  });

  test('promotion codes use promotion[coupon] (2026 shape) and are unique while active', async () => {
    const coupon = await t.stripe.coupons.create({ percent_off: 15 });
    const promo = await t.stripe.promotionCodes.create({
      promotion: { type: 'coupon', coupon: coupon.id },
      code: 'LAUNCH15',
      max_redemptions: 100,
    });
    expect(promo).toMatchObject({
      object: 'promotion_code',
      code: 'LAUNCH15',
      active: true,
      promotion: { type: 'coupon', coupon: coupon.id },
      restrictions: { first_time_transaction: false, minimum_amount: null },
    });
    expect(promo.id).toMatch(/^promo_/);
    await expect(
      t.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'launch15' }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'code' });
    // The pre-clover top-level `coupon` parameter is unknown for the pinned API version.
    await expect(t.stripe.promotionCodes.create({ coupon: coupon.id } as never)).rejects.toMatchObject({
      code: 'parameter_unknown',
      param: 'coupon',
    });
    const expanded = await t.stripe.promotionCodes.retrieve(promo.id, { expand: ['promotion.coupon'] });
    expect(expanded.promotion.coupon).toMatchObject({ id: coupon.id, percent_off: 15 });
    const deactivated = await t.stripe.promotionCodes.update(promo.id, { active: false });
    expect(deactivated.active).toBe(false);
    const byCode = await t.stripe.promotionCodes.list({ code: 'LAUNCH15' });
    expect(byCode.data.map((p) => p.id)).toEqual([promo.id]);
    const types = (await t.stripe.events.list({ type: 'promotion_code.*' })).data.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['promotion_code.created', 'promotion_code.updated']));
  });

  test('deleting a coupon', async () => {
    const coupon = await t.stripe.coupons.create({ percent_off: 5 });
    expect(await t.stripe.coupons.del(coupon.id)).toEqual(
      expect.objectContaining({ id: coupon.id, deleted: true }),
    );
    await expect(t.stripe.coupons.retrieve(coupon.id)).rejects.toBeInstanceOf(
      Stripe.errors.StripeInvalidRequestError,
    );
  });
});
