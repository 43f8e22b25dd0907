import { eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { creditSettings } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';

export type CreditSettingsRow = typeof creditSettings.$inferSelect;

/** Unusual-usage factor shown (and used) when the org never chose one. */
export const DEFAULT_UNUSUAL_FACTOR = 3;

export const findCreditSettings = (tx: Tx, orgId: string) =>
  tx
    .select()
    .from(creditSettings)
    .where(eq(creditSettings.orgId, orgId))
    .then((r) => r[0] ?? null);

export function presentCreditSettings(row: CreditSettingsRow | null) {
  return {
    low_balance: {
      threshold: row?.lowBalanceThreshold ?? null,
      percent: row?.lowBalancePercent ?? null,
    },
    unusual_usage: {
      enabled: row?.unusualUsageFactor != null,
      factor: row?.unusualUsageFactor ?? DEFAULT_UNUSUAL_FACTOR,
    },
    auto_top_up: {
      enabled: row?.autoTopUpEnabled ?? false,
      threshold: row?.autoTopUpThreshold ?? null,
      pack: row?.autoTopUpPack ?? null,
      in_flight: row?.autoTopUpInFlight ?? null,
    },
  };
}

/** The org's alert and auto top-up settings (defaults when it never saved any). */
export async function getCreditSettings(deps: Pick<Deps, 'database'>, orgId: string) {
  const row = await withOrgTx(deps.database, orgId, (tx) => findCreditSettings(tx, orgId));
  return presentCreditSettings(row);
}
