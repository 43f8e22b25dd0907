import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { presentOrg } from './presentOrg.ts';
import { findOrg, updateOrgRow } from './repo.ts';

export interface UpdateOrgInput {
  name?: string | undefined;
  billingEmail?: string | null | undefined;
}

export async function updateOrg(
  deps: Pick<Deps, 'database' | 'clock'>,
  audit: AuditContext,
  orgId: string,
  input: UpdateOrgInput,
) {
  return withOrgTx(deps.database, orgId, async (tx) => {
    const before = await findOrg(tx, orgId);
    if (!before) throw notFound('org');
    const after = await updateOrgRow(tx, orgId, {
      ...(input.name !== undefined && { name: input.name }),
      ...(input.billingEmail !== undefined && { billingEmail: input.billingEmail }),
      updatedAt: deps.clock.now(),
    });
    const view = presentOrg(after!);
    await recordAudit(tx, audit, {
      orgId,
      action: 'org.updated',
      targetType: 'org',
      targetId: orgId,
      before: { name: before.name, billing_email: before.billingEmail },
      after: { name: view.name, billing_email: view.billing_email },
    });
    return view;
  });
}
