import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { loadCatalogOnce } from '../catalog/loadCatalog.ts';
import type { CatalogView } from './decideEntitlement.ts';
import { listAllPlans } from './repo.ts';

/**
 * Feature kinds and usage-event costs come from the catalog file; each plan's features and
 * overage flag from the `plans` table, i.e. what was last pushed (`tollgate catalog push`), which
 * every process sees at once (a push announces `catalog.updated`). A plan not pushed yet falls
 * back to the file.
 */
export async function loadCatalogView(deps: Pick<Deps, 'database' | 'env'>): Promise<CatalogView> {
  const catalog = await loadCatalogOnce(deps.env.CATALOG_FILE);
  // Inactive plans too: an org keeps a plan removed from the catalog until it changes plan.
  const pushed = await withSystemTx(deps.database, (tx) => listAllPlans(tx));
  const view: CatalogView = { features: new Map(), usageEvents: new Map(), plans: new Map() };
  for (const [key, f] of Object.entries(catalog.features))
    view.features.set(key, { kind: f.type === 'boolean' ? 'boolean' : 'limit', name: f.name });
  for (const [key, cost] of Object.entries(catalog.usageEvents)) view.usageEvents.set(key, cost);
  for (const p of catalog.plans)
    view.plans.set(p.key, { name: p.name, features: p.features, allowOverage: p.credits.allowOverage });
  for (const p of pushed) {
    view.plans.set(p.key, { name: p.name, features: p.features, allowOverage: p.allowOverage });
    // A feature only the pushed catalog knows: its kind follows from the values plans give it.
    for (const [key, v] of Object.entries(p.features))
      if (!view.features.has(key))
        view.features.set(key, { kind: typeof v === 'boolean' ? 'boolean' : 'limit', name: key });
  }
  return view;
}
