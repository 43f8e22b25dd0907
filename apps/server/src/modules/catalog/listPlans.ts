import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import type { PriceSpec } from './catalogSchema.ts';
import { listActivePlans, listActivePrices, type PriceRow } from './repo.ts';

export interface PlanPriceView {
  id: string;
  interval: 'month' | 'year';
  /** Minor units; null for tiered prices (see `tiers`). */
  amount: number | null;
  currency: string;
  model: string;
  lookup_key: string | null;
  tiers_mode: 'graduated' | 'volume' | null;
  tiers: { up_to: number | null; unit_amount: number | null; flat_amount: number | null }[] | null;
}

function presentPrice(row: PriceRow): PlanPriceView {
  const spec = row.spec as PriceSpec;
  const tiered = spec?.model === 'tiered' ? spec : null;
  return {
    id: row.id,
    interval: row.interval ?? 'month',
    amount: tiered ? null : row.unitAmount,
    currency: row.currency,
    model: row.model,
    lookup_key: row.lookupKey,
    tiers_mode: tiered?.mode ?? null,
    tiers:
      tiered?.tiers.map((t) => ({
        up_to: t.upTo === 'inf' ? null : t.upTo,
        unit_amount: t.unitAmount ?? null,
        flat_amount: t.flatAmount ?? null,
      })) ?? null,
  };
}

/** The public price list: active plans by rank with their live prices (from the last push). */
export async function listPlans(deps: Pick<Deps, 'database'>) {
  return withSystemTx(deps.database, async (tx) => {
    const [planRows, priceRows] = await Promise.all([listActivePlans(tx), listActivePrices(tx, ['plan'])]);
    return planRows.map((p) => ({
      key: p.key,
      name: p.name,
      description: p.description,
      rank: p.rank,
      trial_days: p.trialDays,
      features: p.features,
      credits_per_period: p.creditsPerPeriod,
      allow_overage: p.allowOverage,
      stripe_product_id: p.stripeProductId,
      prices: priceRows.filter((r) => r.refKey === p.key).map(presentPrice),
    }));
  });
}
