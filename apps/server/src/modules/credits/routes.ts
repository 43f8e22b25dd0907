import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOperator, requireOrg } from '../../http/auth/orgAccess.ts';
import {
  authErrors,
  errorBody,
  isoDate,
  limitQuery,
  orgIdParam,
  plainJsonSerializer,
} from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { consumeCredits } from './consumeCredits.ts';
import { getCredits } from './getCredits.ts';
import { grantManualCredits } from './grantManualCredits.ts';
import { listCreditTransactions } from './listCreditTransactions.ts';

// jsonb cannot hold NUL, and it has no business in keys or metadata.
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL');

const consumeItem = z
  .object({
    event: z.string().min(1).max(48).describe('a usage event of the catalog (`usageEvents`)'),
    quantity: z.number().int().min(1).max(1_000_000).default(1),
    idempotency_key: text(255).describe(
      'your name for this consumption: a retry with the same key and body returns the original',
    ),
    metadata: z
      .record(
        text(40),
        z
          .string()
          .max(500)
          .refine((s) => !s.includes('\u0000'), 'must not contain NUL'),
      )
      .refine((m) => Object.keys(m).length <= 20, 'at most 20 keys')
      .optional(),
  })
  .strict();

export const consumptionView = z
  .object({
    id: z.string(),
    event: z.string(),
    quantity: z.number().int(),
    credits: z.number().int(),
    overage: z.number().int(),
    balance: z.number().int(),
    breakdown: z.array(z.object({ grant_id: z.string(), source: z.string(), credits: z.number().int() })),
    replayed: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: 'CreditConsumption' });

const sourceEnum = z.enum(['subscription', 'pack', 'promotional', 'manual']);

export const creditsView = z
  .object({
    balance: z.number().int(),
    overage: z.number().int(),
    precedence: z.enum(['purchased_first', 'expiring_first']),
    buckets: z.array(
      z.object({ source: sourceEnum, balance: z.number().int(), expires_at: z.string().nullable() }),
    ),
    grants: z.array(
      z.object({
        id: z.string(),
        source: sourceEnum,
        amount: z.number().int(),
        remaining: z.number().int(),
        expires_at: z.string().nullable(),
        created_at: z.string(),
        reason: z.string().nullable(),
        revoked_at: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'Credits' });

const transactionView = z
  .object({
    id: z.string(),
    kind: z.enum(['grant', 'consume', 'expire', 'revoke', 'overage']),
    amount: z.number().int(),
    balance_after: z.number().int(),
    grant_id: z.string().nullable(),
    consumption_id: z.string().nullable(),
    event: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'CreditTransaction' });

const consumeErrors = { ...authErrors, 402: errorBody, 409: errorBody };

/**
 * Who may consume: the host's backend, with the org's secret API key (which acts as owner), and
 * org admins/owners. Plain members may read the balance but not spend it.
 */
export function registerCreditRoutes(app: App, deps: Deps) {
  app.post(
    '/v1/orgs/:org/credits/consume',
    {
      schema: {
        tags: ['credits'],
        summary: 'Consume credits for a usage event (idempotent by key)',
        description:
          'Costs `usageEvents[event] × quantity` credits, taken by the precedence rule. A short balance is 402 `insufficient_credits` with `{ balance, required }` and nothing stored (the same key may succeed later), unless the plan allows overage. The same key with the same body returns the original (`replayed: true`); with another body, 409 `idempotency_conflict`.',
        params: z.object({ org: orgIdParam }),
        body: consumeItem,
        response: { 200: z.object({ consumption: consumptionView }), ...consumeErrors },
      },
      // On the host's request path; the reply is the ledger function's, built to this schema.
      serializerCompiler: plainJsonSerializer,
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const b = request.body;
      const [consumption] = await consumeCredits(
        deps,
        ctx.orgId,
        [{ event: b.event, quantity: b.quantity, idempotencyKey: b.idempotency_key, metadata: b.metadata }],
        { batch: false },
      );
      return { consumption: consumption! };
    },
  );

  app.post(
    '/v1/orgs/:org/credits/consume/batch',
    {
      schema: {
        tags: ['credits'],
        summary: 'Consume credits for up to 100 items, atomically (all or none)',
        description:
          'Items are applied in order. If any item is short (402) or conflicts (409), nothing is consumed and `details.index` names it. Replayed items return their originals.',
        params: z.object({ org: orgIdParam }),
        body: z.object({ items: z.array(consumeItem).min(1).max(100) }).strict(),
        response: { 200: z.object({ consumptions: z.array(consumptionView) }), ...consumeErrors },
      },
      serializerCompiler: plainJsonSerializer,
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const consumptions = await consumeCredits(
        deps,
        ctx.orgId,
        request.body.items.map((b) => ({
          event: b.event,
          quantity: b.quantity,
          idempotencyKey: b.idempotency_key,
          metadata: b.metadata,
        })),
        { batch: true },
      );
      return { consumptions };
    },
  );

  app.get(
    '/v1/orgs/:org/credits',
    {
      schema: {
        tags: ['credits'],
        summary: 'The credit balance, by bucket and grant',
        params: z.object({ org: orgIdParam }),
        response: { 200: creditsView, ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      return getCredits(deps, ctx.orgId);
    },
  );

  app.get(
    '/v1/orgs/:org/credits/transactions',
    {
      schema: {
        tags: ['credits'],
        summary: 'The credit ledger, newest first (cursor pagination)',
        params: z.object({ org: orgIdParam }),
        querystring: z
          .object({
            limit: limitQuery(20),
            starting_after: z
              .string()
              .regex(/^ctx_\d{1,18}$/, 'must be a credit transaction id (ctx_...)')
              .optional(),
          })
          .strict(),
        response: {
          200: z.object({ data: z.array(transactionView), has_more: z.boolean() }),
          ...authErrors,
        },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      return listCreditTransactions(deps, ctx.orgId, {
        limit: request.query.limit,
        startingAfter: request.query.starting_after,
      });
    },
  );

  app.post(
    '/v1/admin/orgs/:org/credits/grants',
    {
      schema: {
        tags: ['admin'],
        summary: 'Platform operators: grant promotional or manual credits (audited)',
        params: z.object({ org: orgIdParam }),
        body: z
          .object({
            credits: z.number().int().min(1).max(1_000_000_000),
            reason: z.string().trim().min(1).max(500),
            source: z.enum(['manual', 'promotional']).default('manual'),
            expires_at: isoDate.optional(),
            idempotency_key: text(255).optional().describe('a retry with the same key grants once'),
          })
          .strict(),
        response: {
          201: z.object({ granted: z.boolean(), grant_id: z.string().nullable(), balance: z.number().int() }),
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const { audit } = await requireOperator(deps, request);
      const b = request.body;
      const result = await grantManualCredits(deps, audit, request.params.org, {
        credits: b.credits,
        reason: b.reason,
        source: b.source,
        expiresAt: b.expires_at ? new Date(b.expires_at) : null,
        idempotencyKey: b.idempotency_key,
      });
      return reply.code(201).send(result);
    },
  );
}
