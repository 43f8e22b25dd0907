import type Stripe from 'stripe';
import type { Catalog } from './catalogSchema.ts';
import { type CatalogChange, isDrift } from './changes.ts';
import { planCatalogChanges } from './planCatalogChanges.ts';

export interface CatalogDiff {
  /** Stripe differs from the catalog (skipped items, e.g. meters unsupported, are not drift). */
  drift: boolean;
  changes: CatalogChange[];
}

/** Same plan as `push`, without writing anything. */
export async function diffCatalog(stripe: Stripe, catalog: Catalog): Promise<CatalogDiff> {
  const changes = await planCatalogChanges(stripe, catalog);
  return { drift: changes.some(isDrift), changes };
}
