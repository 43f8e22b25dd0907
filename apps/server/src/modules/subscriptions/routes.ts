import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { forbidden } from '../../http/errors.ts';
import { authErrors, errorBody, orgIdParam } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { cancelImmediately } from './cancelImmediately.ts';
import { cancelPendingChange, cancelSubscription, resumeSubscription } from './cancelSubscription.ts';
import { changeSubscription } from './changeSubscription.ts';
import { getSubscription } from './getSubscription.ts';
import { previewChange } from './previewChange.ts';
import { subscribe } from './subscribe.ts';

const card = z.object({
  id: z.string(),
  brand: z.string().nullable(),
  last4: z.string().nullable(),
  exp_month: z.number().nullable(),
  exp_year: z.number().nullable(),
});
export const subscriptionView = z
  .object({
    billing_state: z.enum(['ok', 'past_due', 'action_required', 'restricted']),
    grace_ends_at: z.string().nullable(),
    payment_failure_reason: z.string().nullable(),
    payment_action_url: z.string().nullable(),
    id: z.string().nullable(),
    plan: z.string(),
    price_id: z.string().nullable(),
    interval: z.enum(['month', 'year']).nullable(),
    status: z.string(),
    seats: z.number().int(),
    current_period_start: z.string().nullable(),
    current_period_end: z.string().nullable(),
    trial_end: z.string().nullable(),
    cancel_at_period_end: z.boolean(),
    cancel_at: z.string().nullable(),
    collection_method: z.enum(['charge_automatically', 'send_invoice']).nullable(),
    pending_change: z
      .object({ plan: z.string(), price_id: z.string().nullable(), effective_at: z.string().nullable() })
      .nullable(),
    default_payment_method: card.nullable(),
    discount: z.unknown(),
    latest_invoice_id: z.string().nullable(),
  })
  .meta({ id: 'Subscription' });

const choice = {
  plan: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'a plan key from GET /v1/plans'),
  interval: z.enum(['month', 'year']).default('month'),
  seats: z.number().int().min(1).max(10_000).default(1),
};
const params = z.object({ org: orgIdParam });
const actionResult = {
  requires_action: z.boolean(),
  client_secret: z.string().nullable(),
};
const errors = { ...authErrors, 402: errorBody, 409: errorBody, 503: errorBody };

export function registerSubscriptionRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/orgs/:org/subscription',
    {
      schema: {
        tags: ['subscriptions'],
        summary: "The org's subscription: plan, status, seats, period, trial, pending change, card",
        params,
        response: { 200: subscriptionView, ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      return getSubscription(deps, ctx.orgId);
    },
  );

  app.post(
    '/v1/orgs/:org/subscription',
    {
      schema: {
        tags: ['subscriptions'],
        summary:
          'Subscribe to a paid plan with the card on file (or by invoice); 3-D Secure returns a client secret',
        params,
        body: z.object({ ...choice, promotion_code: z.string().min(1).max(60).optional() }).strict(),
        response: {
          201: z.object({
            subscription: subscriptionView,
            hosted_invoice_url: z.string().nullable(),
            ...actionResult,
          }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const b = request.body;
      const r = await subscribe(deps, ctx.audit, ctx.orgId, {
        planKey: b.plan,
        interval: b.interval,
        seats: b.seats,
        promotionCode: b.promotion_code,
      });
      return reply.code(201).send(r);
    },
  );

  app.post(
    '/v1/orgs/:org/subscription/preview',
    {
      schema: {
        tags: ['subscriptions'],
        summary: 'What a plan/interval/seat change would cost now and at the next invoice (changes nothing)',
        params,
        body: z.object(choice).strict(),
        response: {
          200: z.object({
            change: z.enum(['upgrade', 'downgrade']),
            plan: z.string(),
            interval: z.enum(['month', 'year']),
            seats: z.number(),
            currency: z.string(),
            amount_due_now: z.number().int(),
            credit_for_unused_time: z.number().int(),
            charge_for_new_plan: z.number().int(),
            proration_date: z.number().int().nullable(),
            effective_at: z.string(),
            next_invoice: z.object({ total: z.number().int(), date: z.string() }),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      const b = request.body;
      return previewChange(deps, ctx.orgId, { planKey: b.plan, interval: b.interval, seats: b.seats });
    },
  );

  app.patch(
    '/v1/orgs/:org/subscription',
    {
      schema: {
        tags: ['subscriptions'],
        summary:
          'Change plan, interval or seats: upgrades now (prorated, invoiced at once), downgrades at period end',
        params,
        body: z.object({ ...choice, proration_date: z.number().int().positive().optional() }).strict(),
        response: {
          200: z.object({
            change: z.enum(['upgrade', 'downgrade']),
            subscription: subscriptionView,
            ...actionResult,
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const b = request.body;
      return changeSubscription(deps, ctx.audit, ctx.orgId, {
        planKey: b.plan,
        interval: b.interval,
        seats: b.seats,
        prorationDate: b.proration_date,
      });
    },
  );

  app.delete(
    '/v1/orgs/:org/subscription/pending-change',
    {
      schema: {
        tags: ['subscriptions'],
        summary: 'Undo a scheduled downgrade',
        params,
        response: { 200: subscriptionView, ...errors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return cancelPendingChange(deps, ctx.audit, ctx.orgId);
    },
  );

  app.post(
    '/v1/orgs/:org/subscription/cancel',
    {
      schema: {
        tags: ['subscriptions'],
        summary: 'Cancel at the end of the current period (access continues until then)',
        params,
        body: z.object({}).strict().optional(),
        response: { 200: subscriptionView, ...errors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return cancelSubscription(deps, ctx.audit, ctx.orgId);
    },
  );

  app.post(
    '/v1/orgs/:org/subscription/resume',
    {
      schema: {
        tags: ['subscriptions'],
        summary: 'Undo a cancellation before the period ends',
        params,
        body: z.object({}).strict().optional(),
        response: { 200: subscriptionView, ...errors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return resumeSubscription(deps, ctx.audit, ctx.orgId);
    },
  );

  app.post(
    '/v1/orgs/:org/subscription/cancel-now',
    {
      schema: {
        tags: ['subscriptions'],
        summary: 'Platform operators: cancel immediately, optionally refunding the unused time',
        params,
        body: z.object({ refund: z.boolean().default(false) }).strict(),
        response: {
          200: z.object({
            subscription: subscriptionView,
            refund: z.object({ id: z.string(), amount: z.number().int() }).nullable(),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'owner');
      if (!ctx.operator) throw forbidden('only platform operators cancel immediately');
      return cancelImmediately(deps, ctx.audit, ctx.orgId, request.body.refund);
    },
  );
}
