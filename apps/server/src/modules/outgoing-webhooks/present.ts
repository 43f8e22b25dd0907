import type { DeliveryRow, EndpointRow } from './repo.ts';

/** The endpoint as the API shows it: never the secret (that is returned once, at creation). */
export const presentEndpoint = (e: EndpointRow) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  org_id: e.orgId,
  description: e.description,
  active: e.active,
  created_at: e.createdAt.toISOString(),
});

export const presentDelivery = (d: DeliveryRow) => ({
  id: d.id,
  endpoint_id: d.endpointId,
  org_id: d.orgId,
  event_id: d.eventId,
  event_type: d.eventType,
  status: d.status,
  attempts: d.attempts,
  last_status_code: d.lastStatusCode,
  last_error: d.lastError,
  created_at: d.createdAt.toISOString(),
  delivered_at: d.deliveredAt?.toISOString() ?? null,
  payload: d.payload as Record<string, unknown>,
});
