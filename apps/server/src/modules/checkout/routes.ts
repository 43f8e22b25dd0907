import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, errorBody, orgIdParam } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { createCheckoutSession } from './createCheckoutSession.ts';
import { getBillingConfig } from './getBillingConfig.ts';
import { getCheckoutSession } from './getCheckoutSession.ts';

const redirectUrl = z.string().min(1).max(2048).describe('must start with an allowed origin');
const common = {
  success_url: redirectUrl.describe(
    'where Stripe sends the browser after paying; may contain {CHECKOUT_SESSION_ID}',
  ),
  cancel_url: redirectUrl.describe('where the browser goes back to without paying'),
  allow_promotion_codes: z
    .boolean()
    .optional()
    .describe('show the promotion code field (default: true for subscriptions, false for payments)'),
};
const checkoutBody = z
  .discriminatedUnion('mode', [
    z
      .object({
        mode: z.literal('subscription'),
        plan: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'a plan key from GET /v1/plans'),
        interval: z.enum(['month', 'year']).default('month'),
        seats: z.number().int().min(1).max(10_000).default(1),
        ...common,
      })
      .strict(),
    z
      .object({
        mode: z.literal('payment'),
        items: z
          .array(
            z
              .object({
                pack: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'a pack key from GET /v1/credit-products'),
                quantity: z.number().int().min(1).max(100).default(1),
              })
              .strict(),
          )
          .min(1)
          .max(10),
        ...common,
      })
      .strict(),
  ])
  .meta({ id: 'CheckoutSessionCreate' });

export const checkoutSessionView = z
  .object({
    id: z.string(),
    mode: z.enum(['payment', 'subscription', 'setup']),
    status: z.string().describe('open, complete or expired'),
    payment_status: z.string().describe('paid, unpaid or no_payment_required'),
    amount_total: z.number().int().nullable(),
    currency: z.string().nullable(),
    subscription_id: z.string().nullable(),
    payment_intent_id: z.string().nullable(),
    url: z.string().nullable().describe('only while the session is open'),
    expires_at: z.string(),
  })
  .meta({ id: 'CheckoutSession' });

const idempotencyHeader = z.looseObject({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('the same key returns the same session (double clicks, retries)'),
});

export function registerCheckoutRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/billing/config',
    {
      schema: {
        tags: ['checkout'],
        summary: 'What a browser needs for Stripe.js: the publishable key and mode (public)',
        security: [],
        response: {
          200: z
            .object({
              publishable_key: z.string().nullable(),
              stripe_api_base: z
                .string()
                .nullable()
                .describe('the Stripe emulator in demo mode; null with real Stripe'),
              mode: z.enum(['test', 'live']),
            })
            .meta({ id: 'BillingConfig' }),
          429: errorBody,
        },
      },
    },
    async () => getBillingConfig(deps),
  );

  app.post(
    '/v1/orgs/:org/checkout-sessions',
    {
      schema: {
        tags: ['checkout'],
        summary: 'Start Stripe Checkout for a plan (subscription) or credit packs (payment)',
        params: z.object({ org: orgIdParam }),
        headers: idempotencyHeader,
        body: checkoutBody,
        response: {
          201: z.object({ session_id: z.string(), url: z.string() }),
          ...authErrors,
          409: errorBody,
          503: errorBody,
        },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const b = request.body;
      const cause = request.headers['idempotency-key'] ?? request.id;
      const urls = {
        successUrl: b.success_url,
        cancelUrl: b.cancel_url,
        allowPromotionCodes: b.allow_promotion_codes ?? b.mode === 'subscription',
      };
      const result = await createCheckoutSession(
        deps,
        ctx.audit,
        ctx.orgId,
        b.mode === 'subscription'
          ? { mode: 'subscription', plan: b.plan, interval: b.interval, seats: b.seats, ...urls }
          : { mode: 'payment', items: b.items, ...urls },
        cause,
      );
      return reply.code(201).send(result);
    },
  );

  app.get(
    '/v1/orgs/:org/checkout-sessions/:id',
    {
      schema: {
        tags: ['checkout'],
        summary: 'A checkout session of the org; a completed subscription checkout is applied at once',
        params: z.object({
          org: orgIdParam,
          id: z.string().regex(/^cs_[A-Za-z0-9_]{1,200}$/, 'must be a checkout session id (cs_...)'),
        }),
        response: { 200: checkoutSessionView, ...authErrors, 503: errorBody },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      return getCheckoutSession(deps, ctx.audit, ctx.orgId, request.params.id);
    },
  );
}
