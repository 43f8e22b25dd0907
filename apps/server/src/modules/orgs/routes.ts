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
    plan_key: z.string(),
    address: z.record(z.string(), z.string().nullable()).nullable(),
    tax_id: z.object({ type: z.string(), value: z.string() }).nullable(),
    collection_method: z.enum(['charge_automatically', 'send_invoice']),
    days_until_due: z.number().int().nullable(),
    po_number: z.string().nullable(),
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

const addressSchema = z
  .object({
    line1: z.string().max(200).nullable().optional(),
    line2: z.string().max(200).nullable().optional(),
    city: z.string().max(100).nullable().optional(),
    state: z.string().max(100).nullable().optional(),
    postal_code: z.string().max(20).nullable().optional(),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, e.g. US')
      .nullable()
      .optional(),
  })
  .strict();

const updateOrgBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    billing_email: z.email().max(320).nullable().optional(),
    address: addressSchema.nullable().optional(),
    tax_id: z
      .object({
        type: z.enum(['eu_vat', 'us_ein', 'gb_vat', 'ca_bn', 'au_abn', 'de_stn', 'in_gst']),
        value: z.string().min(2).max(40),
      })
      .strict()
      .nullable()
      .optional(),
    /** Institutions: `send_invoice` bills by invoice with net-N terms instead of card autopay. */
    collection_method: z.enum(['charge_automatically', 'send_invoice']).optional(),
    days_until_due: z.number().int().min(1).max(365).nullable().optional(),
    po_number: z.string().trim().min(1).max(60).nullable().optional(),
  })
  .strict()
  .refine((b) => b.collection_method !== 'send_invoice' || b.days_until_due !== null, {
    path: ['days_until_due'],
    message: 'required (1-365) for send_invoice billing',
  });

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
        summary: 'Update the billing profile: name, email, address, tax id, invoice billing (admin)',
        params: orgParams,
        body: updateOrgBody,
        response: { 200: orgView, ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const b = request.body;
      return updateOrg(deps, ctx.audit, ctx.orgId, {
        name: b.name,
        billingEmail: b.billing_email,
        address: b.address,
        taxId: b.tax_id,
        collectionMethod: b.collection_method,
        daysUntilDue: b.days_until_due,
        poNumber: b.po_number,
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
