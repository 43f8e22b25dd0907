import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { enqueueJob } from '../../jobs/index.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { syncCustomer } from '../customers/syncCustomer.ts';
import { syncCustomerTask } from '../customers/syncCustomerTask.ts';
import { presentOrg } from './presentOrg.ts';
import { findOrg, type OrgRow, updateOrgRow } from './repo.ts';

export interface UpdateOrgInput {
  name?: string | undefined;
  billingEmail?: string | null | undefined;
  address?: Record<string, string | null> | null | undefined;
  taxId?: { type: string; value: string } | null | undefined;
  collectionMethod?: 'charge_automatically' | 'send_invoice' | undefined;
  daysUntilDue?: number | null | undefined;
  poNumber?: string | null | undefined;
}

const profileOf = (o: OrgRow) => ({
  name: o.name,
  billing_email: o.billingEmail,
  address: o.address,
  tax_id: o.taxIdValue ? { type: o.taxIdType, value: o.taxIdValue } : null,
  collection_method: o.collectionMethod,
  days_until_due: o.daysUntilDue,
  po_number: o.poNumber,
});

/** Only what changed goes into the audit entry: a readable before/after summary. */
function changedFields(before: Record<string, unknown>, after: Record<string, unknown>) {
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const k of Object.keys(after)) {
    if (JSON.stringify(before[k]) === JSON.stringify(after[k])) continue;
    b[k] = before[k];
    a[k] = after[k];
  }
  return { before: b, after: a };
}

/**
 * Updates the org's billing profile. The Stripe customer follows: a sync job is enqueued in the
 * same transaction (so it cannot be lost) and also attempted at once, best effort.
 */
export async function updateOrg(
  deps: Pick<Deps, 'database' | 'clock' | 'stripe' | 'logger'>,
  audit: AuditContext,
  orgId: string,
  input: UpdateOrgInput,
) {
  const view = await withOrgTx(deps.database, orgId, async (tx) => {
    const before = await findOrg(tx, orgId);
    if (!before) throw notFound('org');
    const after = await updateOrgRow(tx, orgId, {
      ...(input.name !== undefined && { name: input.name }),
      ...(input.billingEmail !== undefined && { billingEmail: input.billingEmail }),
      ...(input.address !== undefined && { address: input.address }),
      ...(input.taxId !== undefined && {
        taxIdType: input.taxId?.type ?? null,
        taxIdValue: input.taxId?.value ?? null,
      }),
      ...(input.collectionMethod !== undefined && { collectionMethod: input.collectionMethod }),
      ...(input.daysUntilDue !== undefined && { daysUntilDue: input.daysUntilDue }),
      ...(input.poNumber !== undefined && { poNumber: input.poNumber }),
      updatedAt: deps.clock.now(),
    });
    const view = presentOrg(after!);
    await recordAudit(tx, audit, {
      orgId,
      action: 'org.updated',
      targetType: 'org',
      targetId: orgId,
      ...changedFields(profileOf(before), profileOf(after!)),
    });
    if (after!.stripeCustomerId)
      await enqueueJob(
        tx,
        syncCustomerTask.job(
          { orgId },
          { dedupeKey: `customer.sync:${orgId}:${after!.updatedAt.getTime()}` },
        ),
      );
    return view;
  });
  await syncCustomer(deps, orgId).catch((err) =>
    deps.logger.warn({ err, orgId }, 'customer sync deferred to the job'),
  );
  return view;
}
