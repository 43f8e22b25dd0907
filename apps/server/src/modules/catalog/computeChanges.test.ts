import { describe, expect, it } from 'vitest';
import exampleCatalog from '../../../../../tollgate.config.ts';
import { formatChangesTable, formatMoney, isDrift } from './changes.ts';
import { computeChanges, METERS_UNSUPPORTED, shortHash } from './computeChanges.ts';
import { desiredState } from './desiredState.ts';
import { parseCatalog } from './loadCatalog.ts';
import type { StripeSnapshot } from './observeStripe.ts';

const empty = (over: Partial<StripeSnapshot> = {}): StripeSnapshot => ({
  products: new Map(),
  pricesByLookupKey: new Map(),
  taggedActivePrices: [],
  meters: [],
  coupons: new Map(),
  promotionCodes: new Map(),
  ...over,
});

const desired = desiredState(parseCatalog(exampleCatalog));

describe('computeChanges', () => {
  it('without a meters API, skips metered add-ons (and says why) but plans everything else', () => {
    const changes = computeChanges(desired, empty({ meters: null }));
    const skipped = changes.filter((c) => c.action === 'skipped');
    expect(skipped.map((c) => [c.target, c.detail])).toEqual([
      ['tg_metered_sms', METERS_UNSUPPORTED],
      ['tg_metered_email', METERS_UNSUPPORTED],
      ['tg_metered_webhook_call', METERS_UNSUPPORTED],
      ['tg_metered_credit_overage', METERS_UNSUPPORTED],
    ]);
    expect(
      changes.some(
        (c) => c.action === 'create_meter' || (c.target.startsWith('tg_metered_') && c.action !== 'skipped'),
      ),
    ).toBe(false);
    expect(changes.filter((c) => c.action === 'create_price')).toHaveLength(9);
    // Skipped items alone are not drift: `diff` passes in CI against such a Stripe.
    expect(skipped.some(isDrift)).toBe(false);
  });

  it('orders meters before products before prices before coupons before promotion codes', () => {
    const order = [...new Set(computeChanges(desired, empty()).map((c) => c.action))];
    expect(order).toEqual([
      'create_meter',
      'create_product',
      'create_price',
      'create_coupon',
      'create_promotion_code',
    ]);
  });
});

describe('helpers', () => {
  it('shortHash ignores key order and survives Stripe.Decimal-like values', () => {
    const decimal = { toJSON: () => '0.1', big: 10n };
    expect(shortHash({ a: 1, b: [1, { c: decimal }] })).toBe(shortHash({ b: [1, { c: '0.1' }], a: 1 }));
    expect(shortHash({ a: 1 })).not.toBe(shortHash({ a: 2 }));
  });

  it('formats money for people', () => {
    expect(formatMoney(2900, 'usd')).toBe('29.00 USD');
    expect(formatMoney(5, 'usd')).toBe('0.05 USD');
    expect(formatMoney('0.1', 'usd')).toBe('0.001 USD');
    expect(formatMoney(199000, 'usd')).toBe('1990.00 USD');
    expect(formatMoney(500, 'jpy')).toBe('500 JPY');
    expect(formatChangesTable([])).toBe('No changes: Stripe matches the catalog.');
  });
});
