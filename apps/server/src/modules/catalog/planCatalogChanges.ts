import type Stripe from 'stripe';
import type { Catalog } from './catalogSchema.ts';
import type { CatalogChange } from './changes.ts';
import { computeChanges } from './computeChanges.ts';
import { type DesiredState, desiredState } from './desiredState.ts';
import { observeStripe, type StripeSnapshot } from './observeStripe.ts';

export interface CatalogInspection {
  desired: DesiredState;
  snapshot: StripeSnapshot;
  changes: CatalogChange[];
}

/** Reads Stripe and compares it with the catalog (no writes). */
export async function inspectCatalog(stripe: Stripe, catalog: Catalog): Promise<CatalogInspection> {
  const desired = desiredState(catalog);
  const snapshot = await observeStripe(stripe, desired);
  return { desired, snapshot, changes: computeChanges(desired, snapshot) };
}

/** The changes `catalog push` would make, in order. */
export async function planCatalogChanges(stripe: Stripe, catalog: Catalog): Promise<CatalogChange[]> {
  return (await inspectCatalog(stripe, catalog)).changes;
}
