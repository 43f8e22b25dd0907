import type { Deps } from '../../deps.ts';
import { applyCatalogChanges } from './applyCatalogChanges.ts';
import type { Catalog } from './catalogSchema.ts';
import { type CatalogChange, isApplicable } from './changes.ts';
import { inspectCatalog } from './planCatalogChanges.ts';
import { syncCatalogToDb } from './syncCatalogToDb.ts';

export interface PushResult {
  /** What was changed in Stripe, in order. */
  applied: CatalogChange[];
  /** Reported, not applied: drift that needs a person (a changed coupon) and skipped items. */
  reported: CatalogChange[];
  /** Still different after applying (should be empty; Stripe read-after-write lag otherwise). */
  remaining: CatalogChange[];
}

/**
 * Brings Stripe in line with the catalog, then records the catalog with its Stripe ids in the
 * database. Idempotent: a second push finds nothing to do, and a push interrupted half-way is
 * finished by the next one (every call has a deterministic idempotency key).
 */
export async function pushCatalog(
  deps: Pick<Deps, 'stripe' | 'database' | 'clock'>,
  catalog: Catalog,
): Promise<PushResult> {
  const before = await inspectCatalog(deps.stripe, catalog);
  const applied = before.changes.filter(isApplicable);
  const archived = await applyCatalogChanges(deps.stripe, applied, before.snapshot);
  // The database records what Stripe holds now, read back rather than assumed.
  const after = applied.length ? await inspectCatalog(deps.stripe, catalog) : before;
  await syncCatalogToDb(deps, catalog, after.desired, after.snapshot, archived);
  return {
    applied,
    reported: before.changes.filter((c) => !isApplicable(c)),
    remaining: after.changes.filter(isApplicable),
  };
}
