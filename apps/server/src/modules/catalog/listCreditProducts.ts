import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import type { Catalog } from './catalogSchema.ts';
import { listActivePrices } from './repo.ts';

type Pack = Catalog['creditPacks'][number];
type Addon = Catalog['meteredAddons'][number];

/** Credit packs (one-off purchases) and metered add-ons, with their live Stripe prices. */
export async function listCreditProducts(deps: Pick<Deps, 'database'>) {
  const rows = await withSystemTx(deps.database, (tx) => listActivePrices(tx, ['pack', 'metered']));
  return {
    packs: rows
      .filter((r) => r.kind === 'pack')
      .map((r) => {
        const spec = r.spec as Pack;
        return {
          key: r.refKey,
          name: spec.name,
          credits: r.credits ?? spec.credits,
          amount: r.unitAmount ?? spec.amount,
          currency: r.currency,
          price_id: r.id,
        };
      })
      .sort((a, b) => a.amount - b.amount),
    metered: rows
      .filter((r) => r.kind === 'metered')
      .map((r) => {
        const spec = r.spec as Addon;
        return {
          key: r.refKey,
          name: spec.name,
          unit_amount_decimal: r.unitAmountDecimal ?? spec.unitAmountDecimal,
          currency: r.currency,
          interval: r.interval ?? 'month',
          meter_event_name: spec.meterEventName,
          price_id: r.id,
        };
      }),
  };
}
