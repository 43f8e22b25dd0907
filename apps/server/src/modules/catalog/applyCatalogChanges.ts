import type Stripe from 'stripe';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type CatalogChange, isApplicable } from './changes.ts';
import { shortHash } from './computeChanges.ts';
import { type DesiredPrice, priceCreateParams } from './desiredState.ts';
import type { StripeSnapshot } from './observeStripe.ts';

/**
 * One mutating call: retried on transient failures under a key derived from the action, the
 * object and a hash of what is sent plus the state it replaces — a retry (or a concurrent push of
 * the same catalog) replays Stripe's first answer, while a later, different change gets a new key.
 */
function mutate<T>(
  action: string,
  target: string,
  cause: unknown,
  call: (opts: Stripe.RequestOptions) => Promise<T>,
): Promise<T> {
  const key = idempotencyKey('platform', `catalog.${action}`, target, shortHash(cause));
  return withStripeRetry(() => call({ idempotencyKey: key }));
}

/** Applies a plan in order; returns the prices it archived (kept in the database as history). */
export async function applyCatalogChanges(
  stripe: Stripe,
  changes: CatalogChange[],
  snapshot: StripeSnapshot,
): Promise<Stripe.Price[]> {
  const meterIds = new Map<string, string>();
  for (const m of snapshot.meters ?? []) if (m.status === 'active') meterIds.set(m.event_name, m.id);
  const archived: Stripe.Price[] = [];

  const createPrice = (d: DesiredPrice, from: string | null) => {
    let meter: string | null = null;
    if (d.meterEventName) {
      meter = meterIds.get(d.meterEventName) ?? null;
      if (!meter) throw new Error(`no billing meter for ${d.meterEventName}`);
    }
    const params = priceCreateParams(d, meter);
    return mutate('create_price', d.lookupKey, { params, from }, (o) => stripe.prices.create(params, o));
  };
  const archive = async (price: Stripe.Price) => {
    archived.push(
      await mutate('archive_price', price.id, { active: false }, (o) =>
        stripe.prices.update(price.id, { active: false }, o),
      ),
    );
  };

  for (const c of changes.filter(isApplicable)) {
    switch (c.action) {
      case 'create_meter': {
        const m = await mutate('create_meter', c.target, c.params, (o) =>
          stripe.billing.meters.create(c.params, o),
        );
        meterIds.set(m.event_name, m.id);
        break;
      }
      case 'reactivate_meter': {
        const before = snapshot.meters?.find((m) => m.id === c.meterId);
        const m = await mutate('reactivate_meter', c.meterId, before?.status_transitions ?? null, (o) =>
          stripe.billing.meters.reactivate(c.meterId, {}, o),
        );
        meterIds.set(m.event_name, m.id);
        break;
      }
      case 'create_product':
        await mutate('create_product', c.target, c.params, (o) => stripe.products.create(c.params, o));
        break;
      case 'update_product':
        await mutate('update_product', c.target, { params: c.params, from: c.from }, (o) =>
          stripe.products.update(c.target, c.params, o),
        );
        break;
      case 'archive_product':
        await mutate('archive_product', c.target, { from: c.from }, (o) =>
          stripe.products.update(c.target, { active: false }, o),
        );
        break;
      case 'create_price':
        await createPrice(c.price, c.from);
        break;
      case 'replace_price':
        // New price first: the lookup key always points at a live price, even if we stop here.
        await createPrice(c.price, c.replaces.id);
        await archive(c.replaces);
        break;
      case 'reactivate_price':
        await mutate('reactivate_price', c.priceId, { active: true }, (o) =>
          stripe.prices.update(c.priceId, { active: true }, o),
        );
        break;
      case 'update_price':
        await mutate('update_price', c.priceId, { params: c.params, from: c.from }, (o) =>
          stripe.prices.update(c.priceId, c.params, o),
        );
        break;
      case 'archive_price':
        await archive(c.price);
        break;
      case 'create_coupon':
        await mutate('create_coupon', c.target, c.params, (o) => stripe.coupons.create(c.params, o));
        break;
      case 'update_coupon':
        await mutate('update_coupon', c.target, { params: c.params, from: c.from }, (o) =>
          stripe.coupons.update(c.target, c.params, o),
        );
        break;
      case 'create_promotion_code':
        await mutate('create_promotion_code', c.target, c.params, (o) =>
          stripe.promotionCodes.create(c.params, o),
        );
        break;
      case 'reactivate_promotion_code':
        await mutate('reactivate_promotion_code', c.promotionCodeId, { active: true }, (o) =>
          stripe.promotionCodes.update(c.promotionCodeId, { active: true }, o),
        );
        break;
    }
  }
  return archived;
}
