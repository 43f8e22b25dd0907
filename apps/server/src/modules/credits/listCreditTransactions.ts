import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { validationFailed } from '../../http/errors.ts';
import { ledgerEntryExists, listLedger } from './repo.ts';

export const ledgerCursor = (id: number) => `ctx_${id}`;

/** The ledger newest first, paged by cursor (`starting_after` = the last id of the previous page). */
export async function listCreditTransactions(
  deps: Pick<Deps, 'database'>,
  orgId: string,
  input: { limit: number; startingAfter?: string | undefined },
) {
  return withOrgTx(deps.database, orgId, async (tx) => {
    let before: number | null = null;
    if (input.startingAfter) {
      before = Number(input.startingAfter.slice(4));
      if (!(await ledgerEntryExists(tx, orgId, before)))
        throw validationFailed([
          { field: 'starting_after', message: 'not a credit transaction of this org', in: 'query' },
        ]);
    }
    const rows = await listLedger(tx, orgId, input.limit, before);
    return {
      data: rows.slice(0, input.limit).map((r) => ({
        id: ledgerCursor(r.id),
        kind: r.kind,
        amount: r.amount,
        balance_after: r.balanceAfter,
        grant_id: r.grantId,
        consumption_id: r.consumptionId,
        event: r.usageEvent,
        created_at: r.createdAt.toISOString(),
      })),
      has_more: rows.length > input.limit,
    };
  });
}
