import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOperator } from '../../http/auth/orgAccess.ts';
import { authErrors, limitQuery, orgIdParam } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { createWebhookEndpoint } from './createWebhookEndpoint.ts';
import { deleteWebhookEndpoint } from './deleteWebhookEndpoint.ts';
import { isOutgoingEventType, OUTGOING_EVENT_TYPES } from './eventTypes.ts';
import { DELIVERY_ID, ENDPOINT_ID } from './ids.ts';
import { listWebhookDeliveries } from './listWebhookDeliveries.ts';
import { listWebhookEndpoints } from './listWebhookEndpoints.ts';
import { redeliverWebhook } from './redeliverWebhook.ts';
import { updateWebhookEndpoint } from './updateWebhookEndpoint.ts';

const endpointView = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    org_id: z.string().nullable(),
    description: z.string().nullable(),
    active: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: 'WebhookEndpoint' });
const createdEndpointView = endpointView
  .extend({ secret: z.string() })
  .meta({ id: 'CreatedWebhookEndpoint' });
const deliveryStatus = z.enum(['pending', 'delivered', 'failed', 'dead']);
const deliveryView = z
  .object({
    id: z.string(),
    endpoint_id: z.string(),
    org_id: z.string().nullable(),
    event_id: z.string(),
    event_type: z.string(),
    status: deliveryStatus,
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    delivered_at: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'WebhookDelivery' });

const eventName = z
  .string()
  .refine(
    (s) => s === '*' || isOutgoingEventType(s),
    `must be '*' or one of ${OUTGOING_EVENT_TYPES.join(', ')}`,
  );
const events = z.array(eventName).min(1, 'subscribe to at least one event type').max(50);
const url = z.url({ protocol: /^https?$/, hostname: z.regexes.hostname }).max(2000);
const description = z.string().trim().max(500);
const endpointId = z.string().regex(ENDPOINT_ID, 'must be a webhook endpoint id (whep_...)');
const deliveryId = z.string().regex(DELIVERY_ID, 'must be a webhook delivery id (whd_...)');

export function registerOutgoingWebhookRoutes(app: App, deps: Deps) {
  app.post(
    '/v1/admin/webhook-endpoints',
    {
      schema: {
        tags: ['admin'],
        summary: 'Register an endpoint for outgoing webhooks; the signing secret is shown once',
        body: z
          .object({ url, events, org_id: orgIdParam.optional(), description: description.optional() })
          .strict(),
        response: { 201: createdEndpointView, ...authErrors },
      },
    },
    async (request, reply) => {
      const { audit } = await requireOperator(deps, request);
      const b = request.body;
      const created = await createWebhookEndpoint(deps, audit, {
        url: b.url,
        events: b.events,
        orgId: b.org_id,
        description: b.description,
      });
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/v1/admin/webhook-endpoints',
    {
      schema: {
        tags: ['admin'],
        summary: 'List outgoing webhook endpoints (without secrets)',
        response: { 200: z.object({ data: z.array(endpointView) }), ...authErrors },
      },
    },
    async (request) => {
      await requireOperator(deps, request);
      return { data: await listWebhookEndpoints(deps) };
    },
  );

  app.patch(
    '/v1/admin/webhook-endpoints/:id',
    {
      schema: {
        tags: ['admin'],
        summary: "Change an endpoint's events, description, or disable it",
        params: z.object({ id: endpointId }),
        body: z
          .object({
            events: events.optional(),
            active: z.boolean().optional(),
            description: description.nullable().optional(),
          })
          .strict(),
        response: { 200: endpointView, ...authErrors },
      },
    },
    async (request) => {
      const { audit } = await requireOperator(deps, request);
      return updateWebhookEndpoint(deps, audit, request.params.id, request.body);
    },
  );

  app.delete(
    '/v1/admin/webhook-endpoints/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Delete an endpoint (its delivery log stays)',
        params: z.object({ id: endpointId }),
        response: { 200: endpointView, ...authErrors },
      },
    },
    async (request) => {
      const { audit } = await requireOperator(deps, request);
      return deleteWebhookEndpoint(deps, audit, request.params.id);
    },
  );

  app.get(
    '/v1/admin/webhook-deliveries',
    {
      schema: {
        tags: ['admin'],
        summary: 'The outgoing webhook delivery log, newest first',
        description: 'Cursor pagination: pass the last id of a page as `starting_after`.',
        querystring: z.object({
          endpoint_id: endpointId.optional(),
          status: deliveryStatus.optional(),
          event_type: z.string().max(100).optional(),
          org_id: orgIdParam.optional(),
          limit: limitQuery(),
          starting_after: deliveryId.optional(),
        }),
        response: { 200: z.object({ data: z.array(deliveryView), has_more: z.boolean() }), ...authErrors },
      },
    },
    async (request) => {
      await requireOperator(deps, request);
      const q = request.query;
      return listWebhookDeliveries(deps, {
        endpointId: q.endpoint_id,
        status: q.status,
        eventType: q.event_type,
        orgId: q.org_id,
        limit: q.limit,
        startingAfter: q.starting_after,
      });
    },
  );

  app.post(
    '/v1/admin/webhook-deliveries/:id/redeliver',
    {
      schema: {
        tags: ['admin'],
        summary: 'Send a delivery again now (one attempt), whatever its status',
        params: z.object({ id: deliveryId }),
        response: { 202: deliveryView, ...authErrors },
      },
    },
    async (request, reply) => {
      const { audit } = await requireOperator(deps, request);
      return reply.code(202).send(await redeliverWebhook(deps, audit, request.params.id));
    },
  );
}
