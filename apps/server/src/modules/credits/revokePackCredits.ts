import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import type { BalanceChange } from '../credit-alerts/afterBalanceChange.ts';
import { revokeGrant } from './ledger.ts';
import { notifyBalanceChanges } from './notifyBalanceChanges.ts';
import { packGrantsOf } from './repo.ts';

/**
 * A refund of a pack purchase revokes what remains of the packs it bought (credits already
 * consumed stay consumed). A grant is revoked once — a second refund or a replayed event finds
 * it revoked and writes nothing. Returns the credits revoked.
 */
export async function revokePackCredits(
  deps: Deps,
  orgId: string,
  paymentIntentId: string,
  refundRef: string,
): Promise<number> {
  const changes: (BalanceChange | null)[] = [];
  let total = 0;
  await withOrgTx(deps.database, orgId, async (tx) => {
    for (const g of await packGrantsOf(tx, orgId, paymentIntentId)) {
      if (g.revokedAt) continue;
      const r = await revokeGrant(tx, orgId, g.id, `refund ${refundRef}`, deps.clock.now());
      total += r.revoked;
      changes.push(r.change);
    }
  });
  await notifyBalanceChanges(deps, changes);
  return total;
}
