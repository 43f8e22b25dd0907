import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { enqueueJob } from '../../jobs/index.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { deliverWebhookTask } from './deliverWebhookTask.ts';
import { presentDelivery } from './present.ts';
import { findDelivery, setDeliveryStatus } from './repo.ts';

/**
 * An operator's manual redelivery: one fresh attempt now, whatever the delivery's status (dead,
 * failed, even delivered). The dedupe key includes the attempt count, so a double click before
 * the attempt runs enqueues once, and each later redelivery gets a new job.
 */
export async function redeliverWebhook(deps: Pick<Deps, 'database'>, audit: AuditContext, id: string) {
  return withSystemTx(deps.database, async (tx) => {
    const row = await findDelivery(tx, id);
    if (!row) throw notFound('webhook delivery');
    await enqueueJob(
      tx,
      deliverWebhookTask.job(
        { deliveryId: id, manual: true },
        { dedupeKey: `outgoing.redeliver:${id}:${row.attempts}`, maxAttempts: 1 },
      ),
    );
    if (row.status !== 'delivered') await setDeliveryStatus(tx, id, 'pending', row.lastError);
    await recordAudit(tx, audit, {
      orgId: null,
      action: 'webhook_delivery.redelivered',
      targetType: 'webhook_delivery',
      targetId: id,
      after: { event_id: row.eventId, endpoint_id: row.endpointId, attempts: row.attempts },
    });
    const updated = await findDelivery(tx, id);
    return presentDelivery(updated ?? row);
  });
}
