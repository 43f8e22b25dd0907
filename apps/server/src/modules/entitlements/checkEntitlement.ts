import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError, notFound } from '../../http/errors.ts';
import {
  type CatalogView,
  decideEntitlement,
  type Entitlement,
  kindOf,
  nextTransition,
  type OrgSnapshot,
} from './decideEntitlement.ts';
import { entitlementCacheOf } from './entitlementCache.ts';
import { loadCatalogView } from './loadCatalogView.ts';
import { readOrgSnapshot } from './repo.ts';

/** The catalog view and the org's snapshot, from this process's cache when it holds them. */
export async function entitlementInputs(
  deps: Deps,
  orgId: string,
): Promise<{ catalog: CatalogView; snapshot: OrgSnapshot; now: Date }> {
  const cache = entitlementCacheOf(deps);
  const now = deps.clock.now();
  let catalog = cache.getCatalog();
  if (!catalog) {
    const ticket = cache.ticket('');
    catalog = await loadCatalogView(deps);
    cache.setCatalog(ticket, catalog);
  }
  let snapshot = cache.getOrg(orgId, now.getTime());
  if (!snapshot) {
    const ticket = cache.ticket(orgId);
    const key = `${orgId}:${ticket.epoch}:${ticket.generation}`;
    let load = cache.loads.get(key);
    if (!load) {
      load = withOrgTx(deps.database, orgId, (tx) => readOrgSnapshot(tx, orgId, now)).finally(() =>
        cache.loads.delete(key),
      );
      cache.loads.set(key, load);
    }
    const loaded = await load;
    if (!loaded) throw notFound('org');
    // Valid until the next time-based change (grace period or trial end, credits expiring): no
    // event announces those.
    cache.setOrg(orgId, ticket, loaded, nextTransition(loaded, now)?.getTime() ?? null);
    snapshot = loaded;
  }
  return { catalog, snapshot, now };
}

function unknownFeature(feature: string) {
  return new DomainError(
    'not_found',
    `feature "${feature}" not found: not a catalog feature or usage event`,
    {
      feature,
    },
  );
}

/**
 * May the org use `feature` now? `feature` is a catalog feature or usage event; `quantity` is
 * how many more units (limit features, usage events). What every check calls (HTTP and the
 * in-process benchmark): on a warm cache it does no I/O.
 */
export async function checkEntitlement(
  deps: Deps,
  orgId: string,
  feature: string,
  quantity = 1,
): Promise<Entitlement> {
  const { catalog, snapshot, now } = await entitlementInputs(deps, orgId);
  if (!kindOf(catalog, feature)) throw unknownFeature(feature);
  return decideEntitlement(catalog, snapshot, feature, now, quantity);
}

/** Every catalog feature, then every usage event, as one check each. */
export async function listEntitlements(deps: Deps, orgId: string): Promise<Entitlement[]> {
  const { catalog, snapshot, now } = await entitlementInputs(deps, orgId);
  return [
    ...catalog.features.keys(),
    ...[...catalog.usageEvents.keys()].filter((k) => !catalog.features.has(k)),
  ].map((f) => decideEntitlement(catalog, snapshot, f, now));
}

export { unknownFeature };
