import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, errorBody, orgIdParam } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { attachPaymentMethod } from './attachPaymentMethod.ts';
import { createSetupIntent } from './createSetupIntent.ts';
import { listPaymentMethods } from './listPaymentMethods.ts';
import { removePaymentMethod } from './removePaymentMethod.ts';
import { setDefaultPaymentMethod } from './setDefaultPaymentMethod.ts';

export const paymentMethodView = z
  .object({
    id: z.string(),
    brand: z.string().nullable(),
    last4: z.string().nullable(),
    exp_month: z.number().nullable(),
    exp_year: z.number().nullable(),
    is_default: z.boolean(),
  })
  .meta({ id: 'PaymentMethod' });
const list = z.object({ data: z.array(paymentMethodView) });
const pmParams = z.object({
  org: orgIdParam,
  pm: z.string().regex(/^pm_[A-Za-z0-9_]+$/, 'must be a payment method id (pm_...)'),
});
const stripeErrors = { 402: errorBody, 409: errorBody, 503: errorBody };

export function registerPaymentMethodRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/orgs/:org/payment-methods',
    {
      schema: {
        tags: ['payment-methods'],
        summary: "The org's cards: brand, last4, expiry, default flag",
        params: z.object({ org: orgIdParam }),
        response: { 200: list, ...authErrors, 503: errorBody },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      return { data: await listPaymentMethods(deps, ctx.orgId) };
    },
  );

  app.post(
    '/v1/orgs/:org/payment-methods/setup-intents',
    {
      schema: {
        tags: ['payment-methods'],
        summary: 'Start adding a card with Stripe Elements (returns the SetupIntent client secret)',
        params: z.object({ org: orgIdParam }),
        body: z.object({}).strict().optional(),
        response: {
          201: z.object({
            setup_intent_id: z.string(),
            client_secret: z.string(),
            publishable_key: z.string().nullable(),
          }),
          ...authErrors,
          ...stripeErrors,
        },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const cause = (request.headers['idempotency-key'] as string | undefined) ?? request.id;
      return reply.code(201).send(await createSetupIntent(deps, ctx.orgId, cause));
    },
  );

  app.post(
    '/v1/orgs/:org/payment-methods',
    {
      schema: {
        tags: ['payment-methods'],
        summary: 'Attach a card (a PaymentMethod id from Stripe.js); the first card becomes the default',
        params: z.object({ org: orgIdParam }),
        body: z
          .object({
            payment_method_id: z.string().regex(/^pm_[A-Za-z0-9_]+$/, 'must be a payment method id (pm_...)'),
            set_default: z.boolean().default(false),
          })
          .strict(),
        response: { 201: paymentMethodView, ...authErrors, ...stripeErrors },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const pm = await attachPaymentMethod(
        deps,
        ctx.audit,
        ctx.orgId,
        request.body.payment_method_id,
        request.body.set_default,
      );
      return reply.code(201).send(pm);
    },
  );

  app.post(
    '/v1/orgs/:org/payment-methods/:pm/default',
    {
      schema: {
        tags: ['payment-methods'],
        summary: 'Make a card the default (invoices and the live subscription)',
        params: pmParams,
        body: z.object({}).strict().optional(),
        response: { 200: list, ...authErrors, ...stripeErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return { data: await setDefaultPaymentMethod(deps, ctx.audit, ctx.orgId, request.params.pm) };
    },
  );

  app.delete(
    '/v1/orgs/:org/payment-methods/:pm',
    {
      schema: {
        tags: ['payment-methods'],
        summary: 'Remove a card (refused when it is the only card of a paid subscription)',
        params: pmParams,
        response: { 200: list, ...authErrors, ...stripeErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return { data: await removePaymentMethod(deps, ctx.audit, ctx.orgId, request.params.pm) };
    },
  );
}
