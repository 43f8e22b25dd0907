import type { Deps } from '../../deps.ts';
import type { Catalog } from '../catalog/catalogSchema.ts';
import { loadCatalogOnce } from '../catalog/loadCatalog.ts';

export type Precedence = Catalog['creditPrecedence'];

/** What the ledger needs from the catalog (tollgate.config.ts): costs, precedence, the free plan. */
export interface CreditRules {
  /** Credit cost of one unit of each usage event. */
  usageEvents: ReadonlyMap<string, number>;
  precedence: Precedence;
  /** The plan an org without a Stripe subscription is on (no prices), if it grants credits. */
  freePlan: { key: string; perPeriod: number } | null;
  packs: ReadonlyMap<string, { credits: number }>;
}

const loaded = new Map<string, Promise<CreditRules>>();
const ready = new Map<string, CreditRules>();

export function rulesFromCatalog(catalog: Catalog): CreditRules {
  const free = catalog.plans
    .filter((p) => !p.prices.month && !p.prices.year)
    .sort((a, b) => a.rank - b.rank)[0];
  return {
    usageEvents: new Map(Object.entries(catalog.usageEvents)),
    precedence: catalog.creditPrecedence,
    freePlan:
      free && free.credits.perPeriod > 0 ? { key: free.key, perPeriod: free.credits.perPeriod } : null,
    packs: new Map(catalog.creditPacks.map((p) => [p.key, { credits: p.credits }])),
  };
}

/**
 * The rules of the configured catalog file (CATALOG_FILE), loaded once per process. The file is
 * validated at start (main.ts), so a failure here means it changed underneath a running server.
 */
export function creditRules(deps: Pick<Deps, 'env'>): CreditRules | Promise<CreditRules> {
  const file = deps.env.CATALOG_FILE;
  const known = ready.get(file);
  if (known) return known;
  let p = loaded.get(file);
  if (!p) {
    p = loadCatalogOnce(file).then((c) => {
      const rules = rulesFromCatalog(c);
      ready.set(file, rules);
      return rules;
    });
    p.catch(() => loaded.delete(file));
    loaded.set(file, p);
  }
  return p;
}
