import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, errorBody, isoDate, orgParams } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { getUsageSummary } from './getUsageSummary.ts';
import { recordUsage } from './recordUsage.ts';

const usageView = z
  .object({
    id: z.string(),
    addon: z.string(),
    quantity: z.number().int(),
    occurred_at: z.string(),
    replayed: z.boolean(),
  })
  .meta({ id: 'MeteredUsage' });

const summaryLine = z.object({
  addon: z.string(),
  name: z.string(),
  meter_event_name: z.string(),
  quantity: z.number().int(),
  reported_quantity: z.number().int(),
  unit_amount_decimal: z.string(),
  currency: z.string(),
  estimated_charge: z.number().int(),
  stripe_quantity: z.number().nullable(),
});

export function registerMeteredUsageRoutes(app: App, deps: Deps) {
  app.post(
    '/v1/orgs/:org/usage',
    {
      schema: {
        tags: ['usage'],
        summary: 'Record usage of a metered add-on (billed through Stripe billing meters)',
        description:
          'Idempotent by `idempotency_key`: a replay returns the first record with `replayed: true`. 409 when the org has no paid subscription (or a yearly one: add-ons are billed monthly).',
        params: orgParams,
        body: z
          .object({
            addon: z.string().min(1).max(64),
            quantity: z.number().int().min(1).max(1_000_000_000),
            idempotency_key: z.string().min(1).max(200),
            occurred_at: isoDate.optional(),
            metadata: z.record(z.string().max(40), z.string().max(500)).optional(),
          })
          .strict(),
        response: { 200: z.object({ usage: usageView }), ...authErrors, 409: errorBody },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return { usage: await recordUsage(deps, ctx.orgId, request.body) };
    },
  );

  app.get(
    '/v1/orgs/:org/usage',
    {
      schema: {
        tags: ['usage'],
        summary: 'Current-period usage and estimated charges per metered add-on and credit overage',
        params: orgParams,
        response: {
          200: z.object({
            period_start: z.string().nullable(),
            period_end: z.string().nullable(),
            currency: z.string().nullable(),
            estimated_total: z.number().int(),
            data: z.array(summaryLine),
          }),
          ...authErrors,
        },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      return getUsageSummary(deps, ctx.orgId);
    },
  );
}
