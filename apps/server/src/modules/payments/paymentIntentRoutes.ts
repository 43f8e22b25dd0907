import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, errorBody, orgIdParam } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { createPaymentIntent } from './createPaymentIntent.ts';

export function registerPaymentIntentRoutes(app: App, deps: Deps) {
  app.post(
    '/v1/orgs/:org/payment-intents',
    {
      schema: {
        tags: ['payments'],
        summary: 'A one-off payment: returns the client secret to confirm with Stripe Elements',
        params: z.object({ org: orgIdParam }),
        body: z
          .object({
            amount: z.number().int().min(50).max(99_999_999).describe('integer minor units (cents)'),
            currency: z.string().regex(/^[a-z]{3}$/, 'three lowercase letters (ISO 4217), e.g. usd'),
            description: z.string().trim().min(1).max(500),
            idempotency_key: z
              .string()
              .min(8)
              .max(100)
              .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
              .describe('the cause of this payment (e.g. your order id): one payment per key'),
          })
          .strict()
          .meta({ id: 'PaymentIntentCreate' }),
        response: {
          201: z
            .object({
              payment_intent_id: z.string(),
              client_secret: z.string(),
              status: z.string(),
              amount: z.number().int(),
              currency: z.string(),
            })
            .meta({ id: 'PaymentIntent' }),
          ...authErrors,
          402: errorBody,
          409: errorBody,
          503: errorBody,
        },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const b = request.body;
      const result = await createPaymentIntent(deps, ctx.audit, ctx.orgId, {
        amount: b.amount,
        currency: b.currency,
        description: b.description,
        idempotencyKey: b.idempotency_key,
      });
      return reply.code(201).send(result);
    },
  );
}
