import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { forbidden } from '../../http/errors.ts';
import { authErrors, errorBody, limitQuery, orgIdParam } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { listPayments } from './listPayments.ts';
import { refundPayment } from './refundPayment.ts';

const paymentId = z.string().regex(/^pi_[A-Za-z0-9_]{1,64}$/, 'must be a payment id (pi_...)');
const date = z.string().nullable();

export const paymentView = z
  .object({
    id: z.string(),
    payment_intent_id: z.string().nullable(),
    charge_id: z.string().nullable(),
    invoice_id: z.string().nullable(),
    invoice_number: z.string().nullable(),
    customer_id: z.string().nullable(),
    amount_cents: z.number().int(),
    amount_refunded_cents: z.number().int(),
    currency: z.string(),
    status: z.enum(['succeeded', 'pending', 'failed', 'refunded', 'partially_refunded']),
    card_brand: z.string().nullable(),
    card_last4: z.string().nullable(),
    description: z.string().nullable(),
    failure_reason: z.string().nullable(),
    created_at: z.string(),
    paid_at: date,
    refunded_at: date,
  })
  .meta({ id: 'Payment' });

export const refundView = z
  .object({
    id: z.string(),
    amount_cents: z.number().int(),
    currency: z.string(),
    reason: z.string().nullable(),
    status: z.string(),
    created_at: z.string(),
  })
  .meta({ id: 'Refund' });

export function registerPaymentHistoryRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/orgs/:org/payments',
    {
      schema: {
        tags: ['payments'],
        summary: "The org's payment history, newest first (offset or cursor pagination)",
        description:
          'Page by `offset` (with `total_count`) or by cursor (`starting_after` = the last id of the previous page), not both. The first page refreshes the projection from Stripe when it is older than a minute, or with `refresh=true`.',
        params: z.object({ org: orgIdParam }),
        querystring: z
          .object({
            limit: limitQuery(20),
            offset: z.coerce.number().int().min(0).max(100_000).optional(),
            starting_after: paymentId.optional(),
            refresh: z.enum(['true', 'false']).optional(),
          })
          .strict()
          .refine((q) => !(q.offset && q.starting_after), {
            path: ['offset'],
            message: 'use either offset or starting_after, not both',
          }),
        response: {
          200: z.object({ data: z.array(paymentView), has_more: z.boolean(), total_count: z.number().int() }),
          ...authErrors,
          503: errorBody,
        },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      const q = request.query;
      return listPayments(deps, ctx.orgId, {
        limit: q.limit,
        offset: q.offset,
        startingAfter: q.starting_after,
        refresh: q.refresh === 'true',
      });
    },
  );

  app.post(
    '/v1/orgs/:org/payments/:payment/refunds',
    {
      schema: {
        tags: ['payments'],
        summary: 'Platform operators: refund a payment fully (default) or partly',
        params: z.object({ org: orgIdParam, payment: paymentId }),
        body: z
          .object({
            amount: z
              .number()
              .int()
              .min(1)
              .max(99_999_999)
              .optional()
              .describe('minor units; default: the rest'),
            reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
            idempotency_key: z
              .string()
              .min(8)
              .max(100)
              .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
              .describe('your name for this refund: retrying with the same key never refunds twice'),
          })
          .strict(),
        response: {
          201: z.object({ refund: refundView, payment: paymentView }),
          ...authErrors,
          409: errorBody,
          503: errorBody,
        },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'owner');
      if (!ctx.operator) throw forbidden('only platform operators refund payments');
      const b = request.body;
      const result = await refundPayment(deps, ctx.audit, ctx.orgId, request.params.payment, {
        amount: b.amount,
        reason: b.reason,
        idempotencyKey: b.idempotency_key,
      });
      return reply.code(201).send(result);
    },
  );
}
