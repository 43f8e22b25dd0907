import { sql } from 'drizzle-orm';
import type Stripe from 'stripe';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../db/client.ts';
import { withSystemTx } from '../../db/tx.ts';
import { ALL_ORGS, publishOrgChange } from '../live/publishOrgChange.ts';
import type { Catalog } from './catalogSchema.ts';
import { type DesiredPrice, type DesiredState, productIds, type RefKind } from './desiredState.ts';
import type { StripeSnapshot } from './observeStripe.ts';
import { priceTermsDiff } from './priceTerms.ts';
import {
  archivePricesExcept,
  deactivatePlansExcept,
  insertArchivedPrice,
  type PriceInsert,
  upsertPlan,
  upsertPrice,
} from './repo.ts';

/** Arbitrary constant shared by every process that syncs the catalog. */
const CATALOG_SYNC_LOCK_ID = 7_263_004;

const productIdOf = (p: Stripe.Price) => (typeof p.product === 'string' ? p.product : p.product.id);

function stripeFields(p: Stripe.Price) {
  return {
    id: p.id,
    lookupKey: p.lookup_key,
    interval: (p.recurring?.interval as 'month' | 'year' | undefined) ?? null,
    currency: p.currency,
    unitAmount: p.unit_amount,
    unitAmountDecimal: p.unit_amount_decimal == null ? null : String(p.unit_amount_decimal),
    stripeProductId: productIdOf(p),
  };
}

const activeRow = (d: DesiredPrice, p: Stripe.Price): PriceInsert => ({
  ...stripeFields(p),
  kind: d.kind,
  refKey: d.key,
  model: d.model,
  spec: d.spec,
  credits: d.credits,
  active: true,
});

/** A price archived by this push that the database has not seen (pushed from elsewhere before). */
function archivedRow(p: Stripe.Price): PriceInsert {
  const md = p.metadata ?? {};
  const model =
    md.tollgate_model ??
    (p.billing_scheme === 'tiered' ? 'tiered' : p.type === 'one_time' ? 'one_time' : 'flat');
  return {
    ...stripeFields(p),
    kind: (md.tollgate_kind as RefKind | undefined) ?? 'plan',
    refKey: md.tollgate_key ?? p.lookup_key ?? p.id,
    model,
    spec: { stripe_price: p.id },
    credits: md.tollgate_credits ? Number(md.tollgate_credits) : null,
  };
}

/**
 * Makes the `plans` and `prices` tables the catalog plus Stripe ids, in one transaction: active
 * prices hold the lookup keys, every other price is kept archived without one.
 */
export async function syncCatalogToDb(
  deps: { database: Database; clock: Clock },
  catalog: Catalog,
  desired: DesiredState,
  snapshot: StripeSnapshot,
  archived: Stripe.Price[],
): Promise<void> {
  const now = deps.clock.now();
  const meters = new Map(
    (snapshot.meters ?? []).filter((m) => m.status === 'active').map((m) => [m.event_name, m.id]),
  );
  const rows: PriceInsert[] = [];
  for (const d of desired.prices) {
    const p = snapshot.pricesByLookupKey.get(d.lookupKey);
    const meter = d.meterEventName ? (meters.get(d.meterEventName) ?? null) : null;
    // Only a live price that matches the catalog is "the" price (e.g. not a skipped metered one).
    if (p?.active && priceTermsDiff(d, p, meter).length === 0) rows.push(activeRow(d, p));
  }
  const activeIds = new Set(rows.map((r) => r.id));

  await withSystemTx(deps.database, async (tx) => {
    // Two pushes at once (two processes starting in demo mode) write one after the other.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${CATALOG_SYNC_LOCK_ID})`);
    await archivePricesExcept(tx, [...activeIds]);
    for (const plan of catalog.plans) {
      const productId = productIds.plan(plan.key);
      await upsertPlan(tx, {
        key: plan.key,
        name: plan.name,
        description: plan.description ?? null,
        rank: plan.rank,
        trialDays: plan.trialDays,
        features: plan.features,
        creditsPerPeriod: plan.credits.perPeriod,
        allowOverage: plan.credits.allowOverage,
        stripeProductId: snapshot.products.has(productId) ? productId : null,
        active: true,
        updatedAt: now,
      });
    }
    await deactivatePlansExcept(
      tx,
      catalog.plans.map((p) => p.key),
      now,
    );
    for (const row of rows) await upsertPrice(tx, row);
    for (const p of archived) if (!activeIds.has(p.id)) await insertArchivedPrice(tx, archivedRow(p));
    // Plan features changed for every org on a plan: every process drops its entitlement caches.
    await publishOrgChange(tx, ALL_ORGS, { type: 'catalog.updated' });
  });
}
