import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, errorBody, orgIdParam } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { createPortalSession } from './createPortalSession.ts';

export function registerPortalRoutes(app: App, deps: Deps) {
  app.post(
    '/v1/orgs/:org/portal-sessions',
    {
      schema: {
        tags: ['portal'],
        summary: "Open Stripe's Customer Portal (plans, cancellation, invoices, cards as the catalog allows)",
        params: z.object({ org: orgIdParam }),
        headers: z.looseObject({ 'idempotency-key': z.string().min(1).max(255).optional() }),
        body: z
          .object({
            return_url: z.string().min(1).max(2048).describe('must start with an allowed origin'),
            flow: z
              .enum(['payment_method_update', 'subscription_cancel', 'subscription_update'])
              .optional()
              .describe('deep-link to one task; back to return_url when done'),
          })
          .strict()
          .meta({ id: 'PortalSessionCreate' }),
        response: { 201: z.object({ url: z.string() }), ...authErrors, 409: errorBody, 503: errorBody },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const cause = request.headers['idempotency-key'] ?? request.id;
      const result = await createPortalSession(
        deps,
        ctx.audit,
        ctx.orgId,
        { returnUrl: request.body.return_url, flow: request.body.flow },
        cause,
      );
      return reply.code(201).send(result);
    },
  );
}
