import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, limitQuery, orgParams } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { getCreditSettings } from './getCreditSettings.ts';
import { listCreditAlerts } from './listCreditAlerts.ts';
import { updateCreditSettings } from './updateCreditSettings.ts';

const credits = z.number().int().min(0).max(2_000_000_000);

const settingsView = z
  .object({
    low_balance: z.object({ threshold: credits.nullable(), percent: z.number().int().nullable() }),
    unusual_usage: z.object({ enabled: z.boolean(), factor: z.number() }),
    auto_top_up: z.object({
      enabled: z.boolean(),
      threshold: credits.nullable(),
      pack: z.string().nullable(),
      /** `attempt:<n>` while the charge is being made, then the payment intent until the grant lands. */
      in_flight: z.string().nullable(),
    }),
  })
  .meta({ id: 'CreditSettings' });

const settingsBody = z
  .object({
    low_balance: z
      .object({
        threshold: credits.nullable().default(null),
        percent: z.number().int().min(1).max(100).nullable().default(null),
      })
      .strict()
      .default({ threshold: null, percent: null }),
    unusual_usage: z
      .object({ enabled: z.boolean().default(false), factor: z.number().min(1.1).max(1000).default(3) })
      .strict()
      .default({ enabled: false, factor: 3 }),
    auto_top_up: z
      .object({
        enabled: z.boolean().default(false),
        threshold: credits.nullable().default(null),
        pack: z.string().min(1).max(64).nullable().default(null),
      })
      .strict()
      .default({ enabled: false, threshold: null, pack: null }),
  })
  .strict();

const alertView = z
  .object({
    id: z.string(),
    kind: z.enum(['low_balance', 'unusual_usage', 'auto_top_up_failed']),
    data: z.record(z.string(), z.unknown()),
    created_at: z.string(),
  })
  .meta({ id: 'CreditAlert' });

export function registerCreditAlertRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/orgs/:org/credits/settings',
    {
      schema: {
        tags: ['credits'],
        summary: 'Low-balance and unusual-usage alert settings and auto top-up',
        params: orgParams,
        response: { 200: settingsView, ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return getCreditSettings(deps, ctx.orgId);
    },
  );

  app.put(
    '/v1/orgs/:org/credits/settings',
    {
      schema: {
        tags: ['credits'],
        summary: 'Replace the alert and auto top-up settings (omitted sections are turned off)',
        description:
          'Low balance: `threshold` (credits) or `percent` (of the current period allocation), not both. Unusual usage: the last hour above `factor` × the trailing hourly average. Auto top-up: below `threshold`, buy `pack` (a catalog credit pack) off-session with the default card.',
        params: orgParams,
        body: settingsBody,
        response: { 200: settingsView, ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return updateCreditSettings(deps, ctx.audit, ctx.orgId, request.body);
    },
  );

  app.get(
    '/v1/orgs/:org/credits/alerts',
    {
      schema: {
        tags: ['credits'],
        summary: 'Credit alerts raised for the org, newest first',
        params: orgParams,
        querystring: z.object({
          limit: limitQuery(20),
          starting_after: z
            .string()
            .regex(/^cal_[A-Za-z0-9]+$/, 'must be an alert id (cal_...)')
            .optional(),
        }),
        response: { 200: z.object({ data: z.array(alertView), has_more: z.boolean() }), ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      const q = request.query;
      return listCreditAlerts(deps, ctx.orgId, { limit: q.limit, startingAfter: q.starting_after });
    },
  );
}
