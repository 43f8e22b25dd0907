import { and, desc, eq, isNull, or, type SQL, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { outgoingDeliveries, outgoingEndpoints } from '../../db/schema/webhooks.ts';

export type EndpointRow = typeof outgoingEndpoints.$inferSelect;
export type DeliveryRow = typeof outgoingDeliveries.$inferSelect;

/** Active endpoints that want `type` for `orgId`: global ones, plus that org's own. */
export const matchingEndpoints = (tx: Tx, orgId: string | null, type: string) =>
  tx
    .select()
    .from(outgoingEndpoints)
    .where(
      and(
        eq(outgoingEndpoints.active, true),
        orgId === null
          ? isNull(outgoingEndpoints.orgId)
          : or(isNull(outgoingEndpoints.orgId), eq(outgoingEndpoints.orgId, orgId)),
        sql`(${outgoingEndpoints.events} @> ${JSON.stringify([type])}::jsonb OR ${outgoingEndpoints.events} @> '["*"]'::jsonb)`,
      ),
    )
    .orderBy(outgoingEndpoints.id);

export const insertEndpoint = (tx: Tx, row: typeof outgoingEndpoints.$inferInsert) =>
  tx
    .insert(outgoingEndpoints)
    .values(row)
    .returning()
    .then((r) => r[0]!);

export const findEndpoint = (tx: Tx, id: string) =>
  tx
    .select()
    .from(outgoingEndpoints)
    .where(eq(outgoingEndpoints.id, id))
    .then((r) => r[0] ?? null);

export const listEndpointRows = (tx: Tx) =>
  tx.select().from(outgoingEndpoints).orderBy(desc(outgoingEndpoints.createdAt), desc(outgoingEndpoints.id));

export const updateEndpointRow = (
  tx: Tx,
  id: string,
  patch: Partial<typeof outgoingEndpoints.$inferInsert>,
) =>
  tx
    .update(outgoingEndpoints)
    .set(patch)
    .where(eq(outgoingEndpoints.id, id))
    .returning()
    .then((r) => r[0] ?? null);

export const deleteEndpointRow = (tx: Tx, id: string) =>
  tx
    .delete(outgoingEndpoints)
    .where(eq(outgoingEndpoints.id, id))
    .returning()
    .then((r) => r[0] ?? null);

export const insertDeliveries = (tx: Tx, rows: (typeof outgoingDeliveries.$inferInsert)[]) =>
  tx
    .insert(outgoingDeliveries)
    .values(rows)
    .onConflictDoNothing({ target: [outgoingDeliveries.eventId, outgoingDeliveries.endpointId] })
    .returning({ id: outgoingDeliveries.id });

export const findDelivery = (tx: Tx, id: string) =>
  tx
    .select()
    .from(outgoingDeliveries)
    .where(eq(outgoingDeliveries.id, id))
    .then((r) => r[0] ?? null);

/** Records one attempt's outcome; attempts counts every POST, automatic or manual. */
export const recordAttempt = (
  tx: Tx,
  id: string,
  outcome: {
    status: DeliveryRow['status'];
    statusCode: number | null;
    error: string | null;
    deliveredAt?: Date;
  },
) =>
  tx
    .update(outgoingDeliveries)
    .set({
      attempts: sql`${outgoingDeliveries.attempts} + 1`,
      status: outcome.status,
      lastStatusCode: outcome.statusCode,
      lastError: outcome.error,
      ...(outcome.deliveredAt ? { deliveredAt: outcome.deliveredAt } : {}),
    })
    .where(eq(outgoingDeliveries.id, id));

export const setDeliveryStatus = (tx: Tx, id: string, status: DeliveryRow['status'], error: string | null) =>
  tx.update(outgoingDeliveries).set({ status, lastError: error }).where(eq(outgoingDeliveries.id, id));

export interface DeliveryFilter {
  endpointId?: string | undefined;
  status?: DeliveryRow['status'] | undefined;
  eventType?: string | undefined;
  orgId?: string | undefined;
  /** Keyset cursor: rows strictly older than this one in (created_at, id) order. */
  before?: { createdAt: Date; id: string } | undefined;
  limit: number;
}

/** Newest first; fetches limit + 1 so the caller can tell whether there is more. */
export const listDeliveryRows = (tx: Tx, f: DeliveryFilter) => {
  const conds: (SQL | undefined)[] = [
    f.endpointId ? eq(outgoingDeliveries.endpointId, f.endpointId) : undefined,
    f.status ? eq(outgoingDeliveries.status, f.status) : undefined,
    f.eventType ? eq(outgoingDeliveries.eventType, f.eventType) : undefined,
    f.orgId ? eq(outgoingDeliveries.orgId, f.orgId) : undefined,
    f.before
      ? sql`(${outgoingDeliveries.createdAt}, ${outgoingDeliveries.id}) < (${f.before.createdAt.toISOString()}::timestamptz, ${f.before.id})`
      : undefined,
  ];
  return tx
    .select()
    .from(outgoingDeliveries)
    .where(and(...conds))
    .orderBy(desc(outgoingDeliveries.createdAt), desc(outgoingDeliveries.id))
    .limit(f.limit + 1);
};
