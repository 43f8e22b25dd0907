import type { Tx } from '../../db/client.ts';
import { sideEffects } from '../../db/schema/webhooks.ts';
import { asSystemRole } from '../../db/tx.ts';

export interface SideEffectClaim {
  /** Globally unique cause key, prefixed by what it is about, e.g. `credits.grant:in_123`. */
  key: string;
  orgId: string | null;
  /** What kind of effect (credit_grant, email, outgoing_webhook, ...), for inspection. */
  kind: string;
}

/**
 * Claims a side effect's cause key in the caller's transaction. Returns true when this call
 * claimed it — the caller then performs or enqueues the effect in the same transaction, so the
 * key and the effect commit together — and false when the effect was already claimed (a
 * duplicate or replayed event), in which case the caller does nothing.
 *
 * Concurrency: a second transaction inserting the same key waits for the first to commit
 * (then gets false) or roll back (then claims it), so exactly one committed transaction wins.
 * Works in withOrgTx (it switches to the system role for its statement) and in withSystemTx.
 */
export async function recordSideEffect(tx: Tx, claim: SideEffectClaim): Promise<boolean> {
  if (!claim.key) throw new TypeError('recordSideEffect: key is required');
  const inserted = await asSystemRole(tx, () =>
    tx
      .insert(sideEffects)
      .values({ key: claim.key, orgId: claim.orgId, kind: claim.kind })
      .onConflictDoNothing({ target: sideEffects.key })
      .returning({ key: sideEffects.key }),
  );
  return inserted.length === 1;
}
