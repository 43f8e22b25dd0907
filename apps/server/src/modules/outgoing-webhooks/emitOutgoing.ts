import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { asSystemRole } from '../../db/tx.ts';
import { enqueueJob } from '../../jobs/index.ts';
import { deliverWebhookTask } from './deliverWebhookTask.ts';
import type { OutgoingEventType } from './eventTypes.ts';
import { newDeliveryId, outgoingEventId } from './ids.ts';
import { recordSideEffect } from './recordSideEffect.ts';
import { insertDeliveries, matchingEndpoints } from './repo.ts';

export interface OutgoingEvent {
  /** The org the event is about; null for platform-wide events (only global endpoints get those). */
  orgId: string | null;
  type: OutgoingEventType;
  /** JSON object sent as `data`; keep it to ids and the state the host needs. */
  data: Record<string, unknown>;
  /**
   * What caused it, unique per cause, e.g. `evt_123:payment.failed` for a Stripe event. The
   * same cause emits once however often the event is delivered or replayed.
   */
  causeKey: string;
  /** When it happened (the caller's clock); defaults to the database's transaction time. */
  at?: Date | undefined;
}

export interface EmittedEvent {
  eventId: string;
  deliveryIds: string[];
}

/**
 * Tells the host product that something happened: claims `outgoing:<causeKey>`, writes one
 * delivery per active endpoint subscribed to `type` (global endpoints and the org's own), and
 * enqueues their delivery jobs — all in the caller's transaction, so the event exists exactly
 * when the change that caused it commits. Returns null when this cause was already emitted.
 * Works in withOrgTx and withSystemTx.
 */
export async function emitOutgoing(tx: Tx, event: OutgoingEvent): Promise<EmittedEvent | null> {
  const claimed = await recordSideEffect(tx, {
    key: `outgoing:${event.causeKey}`,
    orgId: event.orgId,
    kind: 'outgoing_webhook',
  });
  if (!claimed) return null;
  const eventId = outgoingEventId(event.causeKey);
  return asSystemRole(tx, async () => {
    const endpoints = await matchingEndpoints(tx, event.orgId, event.type);
    if (endpoints.length === 0) return { eventId, deliveryIds: [] };
    const at = event.at ?? (await transactionTime(tx));
    const payload = {
      id: eventId,
      type: event.type,
      created: Math.floor(at.getTime() / 1000),
      org_id: event.orgId,
      data: event.data,
    };
    const inserted = await insertDeliveries(
      tx,
      endpoints.map((e) => ({
        id: newDeliveryId(),
        endpointId: e.id,
        orgId: event.orgId,
        eventId,
        eventType: event.type,
        payload,
        createdAt: at,
      })),
    );
    for (const { id } of inserted)
      await enqueueJob(
        tx,
        deliverWebhookTask.job({ deliveryId: id }, { dedupeKey: `outgoing.deliver:${id}` }),
      );
    return { eventId, deliveryIds: inserted.map((r) => r.id) };
  });
}

async function transactionTime(tx: Tx): Promise<Date> {
  const r = (await tx.execute(sql`SELECT now() AS now`)) as unknown as { rows: { now: Date | string }[] };
  return new Date(r.rows[0]!.now);
}
