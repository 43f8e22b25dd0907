import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, orgIdParam, plainJsonSerializer } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { checkEntitlement, listEntitlements } from './checkEntitlement.ts';
import { ENTITLEMENT_REASONS } from './decideEntitlement.ts';
import { setFeatureUsage } from './setFeatureUsage.ts';

const featureKey = z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'must be a feature or usage event key');
const date = z.string().nullable();

export const entitlementView = z
  .object({
    feature: z.string(),
    kind: z.enum(['boolean', 'limit', 'usage_event']),
    allowed: z.boolean(),
    reason: z
      .enum(ENTITLEMENT_REASONS)
      .describe(
        'allowed: plan, trial, past_due_grace, payment_action_required, overage; denied: restricted, not_in_plan, limit_reached, no_credits (docs/entitlements.md)',
      ),
    limit: z.number().int().nullable().describe('limit features: the plan limit (null = unlimited)'),
    usage: z.number().int().nullable().describe('limit features: the usage the host reported'),
    remaining: z.number().int().nullable().describe('limit features: limit − usage (null = unlimited)'),
    cost: z.number().int().nullable().describe('usage events: credits per unit'),
    balance: z.number().int().describe("the org's credit balance"),
    plan: z.string().describe('the plan whose features apply'),
    subscription_status: z.string().nullable(),
    billing_state: z.enum(['ok', 'past_due', 'action_required', 'restricted']),
    trial_ends_at: date,
    grace_ends_at: date,
  })
  .meta({ id: 'Entitlement' });

/**
 * Checks sit on the host's request path, so this route pays as little as possible per call: the
 * answer comes from the in-process cache, the reply is built by us from typed values and
 * serialized with plain JSON.stringify (the zod schema still documents it), and successful
 * checks are not logged per request (errors still are; /metrics counts every request).
 */
const lean = {
  logLevel: 'warn' as const,
  serializerCompiler: plainJsonSerializer,
};

export function registerEntitlementRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/orgs/:org/entitlements',
    {
      ...lean,
      schema: {
        tags: ['entitlements'],
        summary: 'Every catalog feature and usage event: may the org use it now, and why',
        params: z.object({ org: orgIdParam }),
        response: { 200: z.object({ data: z.array(entitlementView) }), ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      return { data: await listEntitlements(deps, ctx.orgId) };
    },
  );

  app.get(
    '/v1/orgs/:org/entitlements/:feature',
    {
      ...lean,
      schema: {
        tags: ['entitlements'],
        summary: 'May the org use this feature (or usage event) now? allowed, reason, limit, usage, balance',
        description:
          'A catalog feature key or a usage-event key; unknown keys are 404. `quantity`: how many more units (limit features: usage + quantity ≤ limit; usage events: balance ≥ cost × quantity).',
        params: z.object({ org: orgIdParam, feature: featureKey }),
        querystring: z
          .object({ quantity: z.coerce.number().int().min(1).max(1_000_000).optional() })
          .strict(),
        response: { 200: entitlementView, ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      return checkEntitlement(deps, ctx.orgId, request.params.feature, request.query.quantity ?? 1);
    },
  );

  app.put(
    '/v1/orgs/:org/entitlements/:feature/usage',
    {
      schema: {
        tags: ['entitlements'],
        summary: "Report the org's current usage of a limit feature (absolute, e.g. 4 projects)",
        params: z.object({ org: orgIdParam, feature: featureKey }),
        body: z.object({ usage: z.number().int().min(0).max(2_147_483_647) }).strict(),
        response: { 200: entitlementView, ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return setFeatureUsage(deps, ctx.orgId, request.params.feature, request.body.usage);
    },
  );
}
