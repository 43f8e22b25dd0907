import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { presentEndpoint } from './present.ts';
import { findEndpoint, updateEndpointRow } from './repo.ts';

export interface WebhookEndpointPatch {
  events?: string[] | undefined;
  active?: boolean | undefined;
  description?: string | null | undefined;
}

/**
 * Changes what an endpoint receives. Disabling it stops new deliveries; queued retries to it
 * are marked dead when they come up (an operator can redeliver them after re-enabling).
 */
export async function updateWebhookEndpoint(
  deps: Pick<Deps, 'database'>,
  audit: AuditContext,
  id: string,
  patch: WebhookEndpointPatch,
) {
  return withSystemTx(deps.database, async (tx) => {
    const before = await findEndpoint(tx, id);
    if (!before) throw notFound('webhook endpoint');
    const row = await updateEndpointRow(tx, id, {
      ...(patch.events ? { events: [...new Set(patch.events)] } : {}),
      ...(patch.active !== undefined ? { active: patch.active } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
    });
    if (!row) throw notFound('webhook endpoint');
    const view = presentEndpoint(row);
    await recordAudit(tx, audit, {
      orgId: null,
      action: 'webhook_endpoint.updated',
      targetType: 'webhook_endpoint',
      targetId: id,
      before: presentEndpoint(before),
      after: view,
    });
    return view;
  });
}
