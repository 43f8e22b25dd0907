import Stripe from 'stripe';
import {
  type Catalog,
  CREDIT_OVERAGE_KEY,
  type Interval,
  lookupKeys,
  type Plan,
  type PriceSpec,
} from './catalogSchema.ts';

/**
 * What Stripe should hold for a catalog: products with stable ids, prices by lookup key, billing
 * meters, coupons and promotion codes. Pure; compared with what Stripe holds by planChanges.
 */
export type RefKind = 'plan' | 'pack' | 'metered';
export type PriceModel = 'flat' | 'per_seat' | 'tiered' | 'one_time' | 'metered';

/** Marks every object `catalog push` owns (and may archive when the catalog drops it). */
export const CATALOG_TAG = 'catalog';

export const productIds: Record<RefKind, (key: string) => string> = {
  plan: (k) => `tg_plan_${k}`,
  pack: (k) => `tg_pack_${k}`,
  metered: (k) => `tg_metered_${k}`,
};

export interface DesiredProduct {
  id: string;
  kind: RefKind;
  key: string;
  name: string;
  description: string | null;
  metadata: Record<string, string>;
}

export interface DesiredTier {
  /** null = infinity */
  upTo: number | null;
  unitAmount: number | null;
  flatAmount: number | null;
}

export interface DesiredPrice {
  lookupKey: string;
  kind: RefKind;
  key: string;
  productId: string;
  model: PriceModel;
  currency: string;
  interval: Interval | null;
  unitAmount: number | null;
  /** Metered prices only (sub-cent amounts). */
  unitAmountDecimal: string | null;
  tiersMode: 'graduated' | 'volume' | null;
  tiers: DesiredTier[] | null;
  meterEventName: string | null;
  credits: number | null;
  metadata: Record<string, string>;
  /** The catalog entry, kept in the database (prices.spec). */
  spec: unknown;
}

export interface DesiredMeter {
  eventName: string;
  displayName: string;
  addonKey: string;
}

export interface DesiredCoupon {
  id: string;
  params: Stripe.CouponCreateParams & { id: string };
  promotionCodes: string[];
}

export interface DesiredState {
  currency: string;
  products: DesiredProduct[];
  prices: DesiredPrice[];
  meters: DesiredMeter[];
  coupons: DesiredCoupon[];
}

const tag = (kind: RefKind, key: string) => ({
  tollgate: CATALOG_TAG,
  tollgate_kind: kind,
  tollgate_key: key,
});

/** Plan settings kept on the product so `catalog pull` can rebuild the config from Stripe. */
function planMetadata(plan: Plan): Record<string, string> {
  const md: Record<string, string> = {
    ...tag('plan', plan.key),
    tollgate_rank: String(plan.rank),
    tollgate_trial_days: String(plan.trialDays),
    tollgate_credits_per_period: String(plan.credits.perPeriod),
    tollgate_allow_overage: String(plan.credits.allowOverage),
  };
  const features = JSON.stringify(plan.features);
  // Stripe caps a metadata value at 500 characters; the database keeps features either way.
  if (features.length <= 500) md.tollgate_features = features;
  return md;
}

function planPrice(plan: Plan, interval: Interval, spec: PriceSpec, currency: string): DesiredPrice {
  const base = {
    lookupKey: lookupKeys.plan(plan.key, interval),
    kind: 'plan' as const,
    key: plan.key,
    productId: productIds.plan(plan.key),
    model: spec.model,
    currency,
    interval,
    unitAmount: null,
    unitAmountDecimal: null,
    tiersMode: null,
    tiers: null,
    meterEventName: null,
    credits: null,
    metadata: { ...tag('plan', plan.key), tollgate_model: spec.model } as Record<string, string>,
    spec,
  };
  if (spec.model === 'tiered') {
    return {
      ...base,
      tiersMode: spec.mode,
      tiers: spec.tiers.map((t) => ({
        upTo: t.upTo === 'inf' ? null : t.upTo,
        unitAmount: t.unitAmount ?? null,
        flatAmount: t.flatAmount ?? null,
      })),
    };
  }
  if (spec.model === 'per_seat') {
    base.metadata.tollgate_min_seats = String(spec.minSeats);
    if (spec.maxSeats !== undefined) base.metadata.tollgate_max_seats = String(spec.maxSeats);
  }
  return { ...base, unitAmount: spec.amount };
}

export function desiredState(catalog: Catalog): DesiredState {
  const { currency } = catalog;
  const products: DesiredProduct[] = [];
  const prices: DesiredPrice[] = [];
  for (const plan of catalog.plans) {
    products.push({
      id: productIds.plan(plan.key),
      kind: 'plan',
      key: plan.key,
      name: plan.name,
      description: plan.description ?? null,
      metadata: planMetadata(plan),
    });
    for (const interval of ['month', 'year'] as const) {
      const spec = plan.prices[interval];
      if (spec) prices.push(planPrice(plan, interval, spec, currency));
    }
  }
  for (const pack of catalog.creditPacks) {
    const md = { ...tag('pack', pack.key), tollgate_credits: String(pack.credits) };
    products.push({
      id: productIds.pack(pack.key),
      kind: 'pack',
      key: pack.key,
      name: pack.name,
      description: null,
      metadata: md,
    });
    prices.push({
      lookupKey: lookupKeys.pack(pack.key),
      kind: 'pack',
      key: pack.key,
      productId: productIds.pack(pack.key),
      model: 'one_time',
      currency,
      interval: null,
      unitAmount: pack.amount,
      unitAmountDecimal: null,
      tiersMode: null,
      tiers: null,
      meterEventName: null,
      credits: pack.credits,
      metadata: { ...md, tollgate_model: 'one_time' },
      spec: pack,
    });
  }
  const meters: DesiredMeter[] = [];
  // Credit overage is billed like an add-on: its own product, meter and metered price.
  const overage = catalog.creditOverage;
  const addons = overage
    ? [
        ...catalog.meteredAddons,
        {
          key: CREDIT_OVERAGE_KEY,
          name: overage.name,
          unitAmountDecimal: overage.unitAmountDecimal,
          meterEventName: overage.meterEventName,
        },
      ]
    : catalog.meteredAddons;
  for (const addon of addons) {
    const md = { ...tag('metered', addon.key), tollgate_meter_event: addon.meterEventName };
    products.push({
      id: productIds.metered(addon.key),
      kind: 'metered',
      key: addon.key,
      name: addon.name,
      description: null,
      metadata: md,
    });
    meters.push({ eventName: addon.meterEventName, displayName: addon.name, addonKey: addon.key });
    prices.push({
      lookupKey: lookupKeys.metered(addon.key),
      kind: 'metered',
      key: addon.key,
      productId: productIds.metered(addon.key),
      model: 'metered',
      currency,
      interval: 'month',
      unitAmount: null,
      unitAmountDecimal: addon.unitAmountDecimal,
      tiersMode: null,
      tiers: null,
      meterEventName: addon.meterEventName,
      credits: null,
      metadata: { ...md, tollgate_model: 'metered' },
      spec: addon,
    });
  }
  const coupons: DesiredCoupon[] = catalog.coupons.map((c) => {
    const params: DesiredCoupon['params'] = {
      id: c.id,
      duration: c.duration,
      metadata: { tollgate: CATALOG_TAG },
    };
    if (c.name !== undefined) params.name = c.name;
    if (c.percentOff !== undefined) params.percent_off = c.percentOff;
    if (c.amountOff !== undefined) {
      params.amount_off = c.amountOff;
      params.currency = currency;
    }
    if (c.durationInMonths !== undefined) params.duration_in_months = c.durationInMonths;
    return { id: c.id, params, promotionCodes: c.promotionCodes };
  });
  return { currency, products, prices, meters, coupons };
}

/** Create parameters for a price; `meterId` is the billing meter of a metered price. */
export function priceCreateParams(p: DesiredPrice, meterId: string | null): Stripe.PriceCreateParams {
  const params: Stripe.PriceCreateParams = {
    product: p.productId,
    currency: p.currency,
    lookup_key: p.lookupKey,
    // The key may sit on an archived or superseded price; Stripe moves it to the new one.
    transfer_lookup_key: true,
    nickname: p.lookupKey,
    metadata: p.metadata,
  };
  if (p.interval) {
    params.recurring =
      p.model === 'metered'
        ? { interval: p.interval, usage_type: 'metered', meter: meterId ?? '' }
        : { interval: p.interval };
  }
  if (p.tiers) {
    params.billing_scheme = 'tiered';
    params.tiers_mode = p.tiersMode ?? 'graduated';
    params.tiers = p.tiers.map((t) => ({
      up_to: t.upTo ?? 'inf',
      ...(t.unitAmount !== null ? { unit_amount: t.unitAmount } : {}),
      ...(t.flatAmount !== null ? { flat_amount: t.flatAmount } : {}),
    }));
  } else if (p.unitAmountDecimal !== null)
    params.unit_amount_decimal = Stripe.Decimal.from(p.unitAmountDecimal);
  else params.unit_amount = p.unitAmount ?? 0;
  return params;
}
