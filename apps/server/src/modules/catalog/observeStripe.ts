import Stripe from 'stripe';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { CATALOG_TAG, type DesiredState } from './desiredState.ts';

/** What Stripe holds of the catalog right now (reads only). */
export interface StripeSnapshot {
  /** Our products: the catalog's ids plus anything tagged `tollgate: catalog`. */
  products: Map<string, Stripe.Product>;
  /** The price holding each catalog lookup key, active or archived (a key is unique in Stripe). */
  pricesByLookupKey: Map<string, Stripe.Price>;
  /** Active prices tagged `tollgate: catalog` under our products (finds the ones the catalog dropped). */
  taggedActivePrices: Stripe.Price[];
  /** null: this Stripe has no billing meters API. */
  meters: Stripe.Billing.Meter[] | null;
  coupons: Map<string, Stripe.Coupon>;
  /** By code, lowercased (codes are case-insensitive). */
  promotionCodes: Map<string, Stripe.PromotionCode[]>;
}

const LOOKUP_KEYS_PER_LIST = 10;

const isNotFound = (err: unknown) => err instanceof Stripe.errors.StripeError && err.statusCode === 404;

async function collect<T>(list: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of list) out.push(item);
  return out;
}

/** Lists with retries; a retry restarts the listing, so partial pages are never mixed. */
const listAll = <T>(fn: () => AsyncIterable<T>) => withStripeRetry(() => collect(fn()));

export async function observeStripe(stripe: Stripe, desired: DesiredState): Promise<StripeSnapshot> {
  const wanted = new Set(desired.products.map((p) => p.id));
  const products = new Map<string, Stripe.Product>();
  for (const p of await listAll(() => stripe.products.list({ limit: 100 })))
    if (wanted.has(p.id) || p.metadata?.tollgate === CATALOG_TAG) products.set(p.id, p);

  const pricesByLookupKey = new Map<string, Stripe.Price>();
  const keys = desired.prices.map((p) => p.lookupKey);
  for (let i = 0; i < keys.length; i += LOOKUP_KEYS_PER_LIST) {
    const chunk = keys.slice(i, i + LOOKUP_KEYS_PER_LIST);
    const found = await listAll(() =>
      stripe.prices.list({ lookup_keys: chunk, limit: 100, expand: ['data.tiers'] }),
    );
    for (const price of found) if (price.lookup_key) pricesByLookupKey.set(price.lookup_key, price);
  }

  const taggedActivePrices: Stripe.Price[] = [];
  for (const id of products.keys()) {
    const list = await listAll(() =>
      stripe.prices.list({ product: id, active: true, limit: 100, expand: ['data.tiers'] }),
    );
    taggedActivePrices.push(...list.filter((p) => p.metadata?.tollgate === CATALOG_TAG));
  }

  let meters: Stripe.Billing.Meter[] | null = null;
  try {
    meters = await listAll(() => stripe.billing.meters.list({ limit: 100 }));
  } catch (err) {
    // An unrecognized URL: a Stripe-compatible API (an emulator) without billing meters.
    if (!isNotFound(err)) throw err;
  }

  const coupons = new Map<string, Stripe.Coupon>();
  for (const c of desired.coupons) {
    try {
      coupons.set(c.id, await withStripeRetry(() => stripe.coupons.retrieve(c.id)));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  const promotionCodes = new Map<string, Stripe.PromotionCode[]>();
  for (const code of desired.coupons.flatMap((c) => c.promotionCodes)) {
    const found = await listAll(() => stripe.promotionCodes.list({ code, limit: 100 }));
    promotionCodes.set(
      code.toLowerCase(),
      found.filter((p) => p.code.toLowerCase() === code.toLowerCase()),
    );
  }

  return { products, pricesByLookupKey, taggedActivePrices, meters, coupons, promotionCodes };
}
