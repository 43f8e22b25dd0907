import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import type { CatalogChange } from './changes.ts';
import { CATALOG_TAG, type DesiredCoupon, type DesiredState } from './desiredState.ts';
import type { StripeSnapshot } from './observeStripe.ts';
import { describePrice, metadataPatch, priceTermsDiff } from './priceTerms.ts';

/** Short stable hash of a JSON value (object keys sorted): part of idempotency keys. */
export function shortHash(value: unknown): string {
  const stable = (v: unknown): unknown => {
    // Stripe.Decimal (and Date) serialise through toJSON; walking their fields would meet bigints.
    if (v && typeof (v as { toJSON?: unknown }).toJSON === 'function')
      return (v as { toJSON(): unknown }).toJSON();
    if (Array.isArray(v)) return v.map(stable);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, stable((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(stable(value)))
    .digest('hex')
    .slice(0, 16);
}

export const METERS_UNSUPPORTED = 'skipped: meters unsupported by this Stripe';

const productIdOf = (p: Stripe.Price) => (typeof p.product === 'string' ? p.product : p.product.id);

/**
 * The ordered steps from what Stripe holds to what the catalog declares. Pure. Order matters
 * when applied: meters before the prices that use them, products before their prices, new
 * prices before old ones are archived, coupons before their promotion codes.
 */
export function computeChanges(desired: DesiredState, snap: StripeSnapshot): CatalogChange[] {
  const changes: CatalogChange[] = [];
  const skipped = new Set<string>();
  if (snap.meters === null) {
    for (const p of desired.products.filter((x) => x.kind === 'metered')) {
      skipped.add(p.id);
      changes.push({ action: 'skipped', target: p.id, detail: METERS_UNSUPPORTED });
    }
  }

  // Meters: by event name. null id = created by this plan.
  const meterIds = new Map<string, string | null>();
  for (const m of snap.meters === null ? [] : desired.meters) {
    const same = snap.meters!.filter((x) => x.event_name === m.eventName);
    const active = same.find((x) => x.status === 'active');
    const inactive = same.find((x) => x.status === 'inactive');
    if (active) {
      meterIds.set(m.eventName, active.id);
      if (active.default_aggregation.formula !== 'sum')
        changes.push({
          action: 'drift',
          target: m.eventName,
          detail: `meter ${active.id} aggregates by ${active.default_aggregation.formula}, the catalog needs sum (meters cannot change: use a new meterEventName)`,
        });
    } else if (inactive) {
      meterIds.set(m.eventName, inactive.id);
      changes.push({
        action: 'reactivate_meter',
        target: m.eventName,
        detail: `reactivate meter ${inactive.id}`,
        meterId: inactive.id,
      });
    } else {
      meterIds.set(m.eventName, null);
      changes.push({
        action: 'create_meter',
        target: m.eventName,
        detail: `sum of "value" per customer, for ${m.addonKey}`,
        params: {
          display_name: m.displayName,
          event_name: m.eventName,
          default_aggregation: { formula: 'sum' },
          customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
          value_settings: { event_payload_key: 'value' },
        },
      });
    }
  }

  for (const p of desired.products) {
    if (skipped.has(p.id)) continue;
    const actual = snap.products.get(p.id);
    if (!actual) {
      changes.push({
        action: 'create_product',
        target: p.id,
        detail: p.name,
        params: {
          id: p.id,
          name: p.name,
          ...(p.description ? { description: p.description } : {}),
          metadata: p.metadata,
        },
      });
      continue;
    }
    const params: Stripe.ProductUpdateParams = {};
    const what: string[] = [];
    if (actual.name !== p.name) {
      params.name = p.name;
      what.push(`name "${actual.name}" → "${p.name}"`);
    }
    if ((actual.description ?? null) !== p.description) {
      params.description = p.description ?? '';
      what.push(`description "${actual.description ?? ''}" → "${p.description ?? ''}"`);
    }
    if (!actual.active) {
      params.active = true;
      what.push('archived → active');
    }
    const md = metadataPatch(p.metadata, actual.metadata);
    if (md) {
      params.metadata = md;
      what.push(`metadata ${Object.keys(md).join(', ')}`);
    }
    if (what.length)
      changes.push({
        action: 'update_product',
        target: p.id,
        detail: what.join('; '),
        params,
        from: actual.updated,
      });
  }

  for (const d of desired.prices) {
    if (skipped.has(d.productId)) continue;
    const holder = snap.pricesByLookupKey.get(d.lookupKey);
    const meterId = d.meterEventName ? (meterIds.get(d.meterEventName) ?? null) : null;
    if (!holder) {
      changes.push({
        action: 'create_price',
        target: d.lookupKey,
        detail: describePrice(d),
        price: d,
        from: null,
      });
      continue;
    }
    const terms = priceTermsDiff(d, holder, meterId);
    if (terms.length && holder.active) {
      changes.push({
        action: 'replace_price',
        target: d.lookupKey,
        detail: `${terms.join('; ')} (new price; ${holder.id} archived, its subscribers keep it)`,
        price: d,
        replaces: holder,
      });
      continue;
    }
    if (terms.length) {
      changes.push({
        action: 'create_price',
        target: d.lookupKey,
        detail: `${describePrice(d)} (lookup key taken from archived ${holder.id})`,
        price: d,
        from: holder.id,
      });
      continue;
    }
    if (!holder.active)
      changes.push({
        action: 'reactivate_price',
        target: d.lookupKey,
        detail: `${holder.id} was archived`,
        priceId: holder.id,
      });
    const md = metadataPatch(d.metadata, holder.metadata);
    if (md)
      changes.push({
        action: 'update_price',
        target: d.lookupKey,
        detail: `metadata ${Object.keys(md).join(', ')} on ${holder.id}`,
        priceId: holder.id,
        params: { metadata: md },
        from: shortHash(holder.metadata),
      });
  }

  // What the catalog no longer declares: archived (never deleted; subscribers keep their prices).
  const keys = new Set(desired.prices.map((p) => p.lookupKey));
  for (const price of snap.taggedActivePrices) {
    if (skipped.has(productIdOf(price)) || (price.lookup_key && keys.has(price.lookup_key))) continue;
    changes.push({
      action: 'archive_price',
      target: price.lookup_key ?? price.id,
      detail: `${price.id} is not in the catalog`,
      price,
    });
  }
  const wanted = new Set(desired.products.map((p) => p.id));
  for (const product of snap.products.values()) {
    if (wanted.has(product.id) || !product.active || product.metadata?.tollgate !== CATALOG_TAG) continue;
    changes.push({
      action: 'archive_product',
      target: product.id,
      detail: `"${product.name}" is not in the catalog`,
      from: product.updated,
    });
  }

  for (const c of desired.coupons) changes.push(...couponChanges(c, snap));
  return changes;
}

function couponChanges(c: DesiredCoupon, snap: StripeSnapshot): CatalogChange[] {
  const out: CatalogChange[] = [];
  const actual = snap.coupons.get(c.id);
  if (!actual) {
    const what = c.params.percent_off !== undefined ? `${c.params.percent_off}% off` : `amount off`;
    out.push({
      action: 'create_coupon',
      target: c.id,
      detail: `${what}, ${c.params.duration}`,
      params: c.params,
    });
  } else {
    const terms: string[] = [];
    const cmp = (label: string, have: unknown, want: unknown) => {
      if ((have ?? null) !== (want ?? null)) terms.push(`${label} ${have ?? 'none'} → ${want ?? 'none'}`);
    };
    cmp('percent_off', actual.percent_off, c.params.percent_off);
    cmp('amount_off', actual.amount_off, c.params.amount_off);
    cmp('currency', actual.currency, c.params.currency);
    cmp('duration', actual.duration, c.params.duration);
    cmp('duration_in_months', actual.duration_in_months, c.params.duration_in_months);
    if (terms.length)
      out.push({
        action: 'drift',
        target: c.id,
        detail: `${terms.join('; ')}: coupons are immutable, give the changed coupon a new id`,
      });
    const params: Stripe.CouponUpdateParams = {};
    if ((actual.name ?? null) !== (c.params.name ?? null)) params.name = c.params.name ?? '';
    const md = metadataPatch(c.params.metadata as Record<string, string>, actual.metadata);
    if (md) params.metadata = md;
    if (Object.keys(params).length)
      out.push({
        action: 'update_coupon',
        target: c.id,
        detail: Object.keys(params).join(', '),
        params,
        from: shortHash({ name: actual.name, metadata: actual.metadata }),
      });
  }
  for (const code of c.promotionCodes) {
    const found = snap.promotionCodes.get(code.toLowerCase()) ?? [];
    const couponOf = (p: Stripe.PromotionCode) =>
      typeof p.promotion.coupon === 'string' ? p.promotion.coupon : p.promotion.coupon?.id;
    const active = found.find((p) => p.active);
    const mine = found.find((p) => !p.active && couponOf(p) === c.id);
    if (active) {
      if (couponOf(active) !== c.id)
        out.push({
          action: 'drift',
          target: code,
          detail: `active promotion code ${active.id} applies coupon ${couponOf(active)}, not ${c.id}`,
        });
    } else if (mine) {
      out.push({
        action: 'reactivate_promotion_code',
        target: code,
        detail: `${mine.id} was inactive`,
        promotionCodeId: mine.id,
      });
    } else {
      out.push({
        action: 'create_promotion_code',
        target: code,
        detail: `applies coupon ${c.id}`,
        params: {
          code,
          promotion: { type: 'coupon', coupon: c.id },
          metadata: { tollgate: CATALOG_TAG, tollgate_coupon: c.id },
        },
      });
    }
  }
  return out;
}
