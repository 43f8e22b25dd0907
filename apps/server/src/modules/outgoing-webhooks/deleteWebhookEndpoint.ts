import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { presentEndpoint } from './present.ts';
import { deleteEndpointRow } from './repo.ts';

/**
 * Removes an endpoint. Its delivery log stays (for inspection); queued retries to it are marked
 * dead when they come up.
 */
export async function deleteWebhookEndpoint(deps: Pick<Deps, 'database'>, audit: AuditContext, id: string) {
  return withSystemTx(deps.database, async (tx) => {
    const row = await deleteEndpointRow(tx, id);
    if (!row) throw notFound('webhook endpoint');
    const view = presentEndpoint(row);
    await recordAudit(tx, audit, {
      orgId: null,
      action: 'webhook_endpoint.deleted',
      targetType: 'webhook_endpoint',
      targetId: id,
      before: view,
    });
    return view;
  });
}
