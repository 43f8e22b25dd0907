import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { findLiveSubscription } from './repo.ts';

/** The org's live subscription row from the projection (no Stripe call), or null. */
export async function currentSubscription(deps: Pick<Deps, 'database'>, orgId: string) {
  return withOrgTx(deps.database, orgId, (tx) => findLiveSubscription(tx, orgId));
}
