import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOperator, requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, errorBody, limitQuery, orgParams } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { memberRefFields, refineMemberRef, toMemberRef } from '../members/memberRefSchema.ts';
import { createOrg } from './createOrg.ts';
import { getOrg } from './getOrg.ts';
import { listOrgs } from './listOrgs.ts';
import { updateOrg } from './updateOrg.ts';

export const orgView = z
  .object({
    id: z.string(),
    external_id: z.string().nullable(),
    name: z.string(),
    billing_email: z.string().nullable(),
    stripe_customer_id: z.string().nullable(),
    subscription_id: z.string().nullable(),
    subscription_status: z.string().nullable(),
    current_period_end: z.string().nullable(),
    trial_ends_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Org' });

const createOrgBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    billing_email: z.email().max(320).optional(),
    external_id: z.string().min(1).max(200).optional(),
    owner: z.object(memberRefFields).strict().superRefine(refineMemberRef).optional(),
  })
  .strict();

export function registerOrgRoutes(app: App, deps: Deps) {
  app.post(
    '/v1/orgs',
    {
      schema: {
        tags: ['orgs'],
        summary: 'Create an organisation (platform operators)',
        body: createOrgBody,
        response: { 201: orgView, ...authErrors, 409: errorBody },
      },
    },
    async (request, reply) => {
      const { audit } = await requireOperator(deps, request);
      const b = request.body;
      const org = await createOrg(deps, audit, {
        name: b.name,
        billingEmail: b.billing_email,
        externalId: b.external_id,
        owner: b.owner ? toMemberRef(b.owner) : undefined,
      });
      return reply.code(201).send(org);
    },
  );

  app.get(
    '/v1/orgs/:org',
    {
      schema: {
        tags: ['orgs'],
        summary: 'Get an organisation',
        params: orgParams,
        response: { 200: orgView, ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      return getOrg(deps, ctx.orgId);
    },
  );

  app.patch(
    '/v1/orgs/:org',
    {
      schema: {
        tags: ['orgs'],
        summary: 'Update name or billing email (admin)',
        params: orgParams,
        body: z
          .object({
            name: z.string().trim().min(1).max(200).optional(),
            billing_email: z.email().max(320).nullable().optional(),
          })
          .strict(),
        response: { 200: orgView, ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return updateOrg(deps, ctx.audit, ctx.orgId, {
        name: request.body.name,
        billingEmail: request.body.billing_email,
      });
    },
  );

  app.get(
    '/v1/admin/orgs',
    {
      schema: {
        tags: ['admin'],
        summary: 'List every organisation (platform operators)',
        querystring: z
          .object({
            limit: limitQuery(),
            starting_after: z.string().optional(),
            q: z.string().max(200).optional(),
          })
          .strict(),
        response: { 200: z.object({ data: z.array(orgView), has_more: z.boolean() }), ...authErrors },
      },
    },
    async (request) => {
      await requireOperator(deps, request);
      const q = request.query;
      return listOrgs(deps, { limit: q.limit, startingAfter: q.starting_after, q: q.q });
    },
  );
}
