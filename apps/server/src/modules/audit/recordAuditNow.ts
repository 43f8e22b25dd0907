import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { type AuditContext, type AuditEntry, recordAudit } from './recordAudit.ts';

export type { AuditContext };

/**
 * Records an audit entry in its own transaction, for actions whose effect lives in Stripe
 * (there is no local transaction to share). Written after Stripe confirmed the change.
 */
export async function recordAuditNow(
  deps: Pick<Deps, 'database'>,
  ctx: AuditContext,
  entry: AuditEntry & { orgId: string },
) {
  await withOrgTx(deps.database, entry.orgId, (tx) => recordAudit(tx, ctx, entry));
}
