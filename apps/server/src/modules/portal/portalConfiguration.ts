import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import type { Deps } from '../../deps.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import type { Catalog } from '../catalog/catalogSchema.ts';
import { listPlans } from '../catalog/listPlans.ts';

type Features = Stripe.BillingPortal.ConfigurationCreateParams.Features;
type ProductUpdate = NonNullable<
  Exclude<NonNullable<Features['subscription_update']>['products'], ''>
>[number];

/** Stripe's portal lists at most this many products to switch between. */
const MAX_PORTAL_PRODUCTS = 10;
/** Offered when a customer cancels; the answer lands on the subscription's cancellation_details. */
const CANCELLATION_REASONS = ['too_expensive', 'missing_features', 'switched_service', 'unused', 'other'];

/**
 * The portal's features as the catalog says: plan switches between the plans' live prices
 * (upgrades invoiced at once, downgrades and shorter intervals at the period end — the same
 * rules as the API), the catalog's cancellation mode, invoice history and card updates.
 * Customer details are not editable there: Tollgate's billing profile is their source.
 */
export async function portalFeatures(deps: Pick<Deps, 'database'>, catalog: Catalog): Promise<Features> {
  const plans = await listPlans(deps);
  const products: ProductUpdate[] = plans
    .filter((p) => p.stripe_product_id && p.prices.length)
    .slice(0, MAX_PORTAL_PRODUCTS)
    .map((p) => {
      const specs = Object.values(catalog.plans.find((c) => c.key === p.key)?.prices ?? {});
      const seats = specs.find((s) => s?.model === 'per_seat');
      return {
        product: p.stripe_product_id!,
        prices: p.prices.map((price) => price.id).sort(),
        adjustable_quantity:
          seats?.model === 'per_seat'
            ? {
                enabled: true,
                minimum: seats.minSeats,
                ...(seats.maxSeats ? { maximum: seats.maxSeats } : {}),
              }
            : { enabled: false },
      };
    });
  const switching = catalog.portal.allowPlanSwitch && products.length > 0;
  const perSeat = products.some((p) => p.adjustable_quantity?.enabled);
  const cancellation = catalog.portal.cancellation;
  return {
    customer_update: { enabled: false },
    invoice_history: { enabled: true },
    payment_method_update: { enabled: true },
    subscription_cancel:
      cancellation === 'disabled'
        ? { enabled: false }
        : {
            enabled: true,
            mode: cancellation,
            proration_behavior: 'none',
            cancellation_reason: { enabled: true, options: CANCELLATION_REASONS },
          },
    subscription_update: switching
      ? {
          enabled: true,
          default_allowed_updates: perSeat
            ? ['price', 'quantity', 'promotion_code']
            : ['price', 'promotion_code'],
          products,
          proration_behavior: 'always_invoice',
          schedule_at_period_end: {
            conditions: [{ type: 'decreasing_item_amount' }, { type: 'shortening_interval' }],
          },
        }
      : { enabled: false },
  };
}

/** Identifies a configuration by content: a catalog change gives a new hash, hence a new configuration. */
export function catalogHash(features: Features): string {
  return createHash('sha256').update(JSON.stringify(features)).digest('hex').slice(0, 32);
}

/**
 * The portal configuration for the current catalog, created once per catalog version and reused:
 * found by its `tollgate_catalog_hash` metadata, else created with a key derived from the hash
 * (concurrent first calls get the one configuration Stripe created).
 */
export async function ensurePortalConfiguration(
  deps: Pick<Deps, 'database' | 'stripe'>,
  catalog: Catalog,
): Promise<string> {
  const features = await portalFeatures(deps, catalog);
  const hash = catalogHash(features);
  try {
    const existing = await withStripeRetry(() =>
      deps.stripe.billingPortal.configurations
        .list({ active: true, limit: 100 })
        .autoPagingToArray({ limit: 1000 }),
    );
    const found = existing.find((c) => c.metadata?.tollgate_catalog_hash === hash);
    if (found) return found.id;
    const created = await withStripeRetry(
      () =>
        deps.stripe.billingPortal.configurations.create(
          {
            name: `Tollgate catalog ${hash.slice(0, 8)}`,
            features,
            metadata: { tollgate: 'catalog', tollgate_catalog_hash: hash },
          },
          { idempotencyKey: idempotencyKey('platform', 'portal_configuration.create', hash) },
        ),
      { retryConflicts: true, attempts: 5 },
    );
    return created.id;
  } catch (err) {
    throw stripeErrorToDomain(err, 'preparing the customer portal');
  }
}
