import { and, desc, eq, inArray, lt, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { stripeEvents } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { requireOperator } from '../../http/auth/orgAccess.ts';
import { notFound } from '../../http/errors.ts';
import { authErrors, limitQuery } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { recordAudit } from '../audit/recordAudit.ts';

const STATUSES = ['pending', 'processing', 'applied', 'ignored', 'dead'] as const;
type Row = typeof stripeEvents.$inferSelect;
const summary = (e: Row) => ({
  id: e.id,
  type: e.type,
  object_id: e.objectId,
  org_id: e.orgId,
  status: e.status,
  attempts: e.attempts,
  last_error: e.lastError,
  stripe_created: e.stripeCreated,
  received_at: e.receivedAt.toISOString(),
  applied_at: e.appliedAt?.toISOString() ?? null,
  replay_count: e.replayCount,
});
const eventView = z.object({
  id: z.string(),
  type: z.string(),
  object_id: z.string().nullable(),
  org_id: z.string().nullable(),
  status: z.enum(STATUSES),
  attempts: z.number(),
  last_error: z.string().nullable(),
  stripe_created: z.number(),
  received_at: z.string(),
  applied_at: z.string().nullable(),
  replay_count: z.number(),
});
const eventId = z.string().regex(/^evt_/, 'must be an event id (evt_...)');

/** Operators: inspect the inbox, replay events, and see webhook health. */
export function registerStripeEventAdminRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/admin/stripe-events',
    {
      schema: {
        tags: ['admin'],
        summary: 'Stored Stripe events, newest first, filtered',
        querystring: z
          .object({
            type: z.string().max(100).optional(),
            status: z.enum(STATUSES).optional(),
            org_id: z.string().max(60).optional(),
            object_id: z.string().max(100).optional(),
            received_before: z.iso.datetime({ offset: true }).optional(),
            limit: limitQuery(50),
          })
          .strict(),
        response: { 200: z.object({ data: z.array(eventView), has_more: z.boolean() }), ...authErrors },
      },
    },
    async (request) => {
      await requireOperator(deps, request);
      const q = request.query;
      const where: SQL[] = [];
      if (q.type) where.push(eq(stripeEvents.type, q.type));
      if (q.status) where.push(eq(stripeEvents.status, q.status));
      if (q.org_id) where.push(eq(stripeEvents.orgId, q.org_id));
      if (q.object_id) where.push(eq(stripeEvents.objectId, q.object_id));
      if (q.received_before) where.push(lt(stripeEvents.receivedAt, new Date(q.received_before)));
      const rows = await withSystemTx(deps.database, (tx) =>
        tx
          .select()
          .from(stripeEvents)
          .where(where.length ? and(...where) : undefined)
          .orderBy(desc(stripeEvents.receivedAt), desc(stripeEvents.id))
          .limit(q.limit + 1),
      );
      return { data: rows.slice(0, q.limit).map(summary), has_more: rows.length > q.limit };
    },
  );

  app.get(
    '/v1/admin/stripe-events/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'One stored Stripe event with its payload, attempts and last error',
        params: z.object({ id: eventId }),
        response: { 200: eventView.extend({ payload: z.unknown() }), ...authErrors },
      },
    },
    async (request) => {
      await requireOperator(deps, request);
      const [row] = await withSystemTx(deps.database, (tx) =>
        tx.select().from(stripeEvents).where(eq(stripeEvents.id, request.params.id)),
      );
      if (!row) throw notFound('event');
      return { ...summary(row), payload: row.payload };
    },
  );

  app.post(
    '/v1/admin/stripe-events/replay',
    {
      schema: {
        tags: ['admin'],
        summary:
          'Replay stored events (by ids, or every dead / failed one of a type); handlers are idempotent',
        body: z
          .object({
            ids: z.array(eventId).min(1).max(1000).optional(),
            status: z.enum(['dead', 'applied', 'ignored']).optional(),
            type: z.string().max(100).optional(),
          })
          .strict()
          .refine((b) => b.ids || b.status, { path: ['ids'], message: 'give ids, or a status to replay' }),
        response: { 200: z.object({ replayed: z.number() }), ...authErrors },
      },
    },
    async (request) => {
      const { audit } = await requireOperator(deps, request);
      const b = request.body;
      const replayed = await withSystemTx(deps.database, async (tx) => {
        const where: SQL[] = [];
        if (b.ids) where.push(inArray(stripeEvents.id, b.ids));
        if (b.status) where.push(eq(stripeEvents.status, b.status));
        if (b.type) where.push(eq(stripeEvents.type, b.type));
        const rows = await tx
          .update(stripeEvents)
          .set({
            status: 'pending',
            attempts: 0,
            nextAttemptAt: deps.clock.now(),
            lastError: null,
            replayCount: sql`${stripeEvents.replayCount} + 1`,
          })
          .where(and(...where))
          .returning({ id: stripeEvents.id });
        await recordAudit(tx, audit, {
          orgId: null,
          action: 'stripe_events.replayed',
          after: { count: rows.length, ...b },
        });
        return rows.length;
      });
      return { replayed };
    },
  );

  app.get(
    '/v1/admin/webhook-health',
    {
      schema: {
        tags: ['admin'],
        summary: 'Inbox health: events by status, oldest pending, dead letters',
        response: {
          200: z.object({
            by_status: z.record(z.string(), z.number()),
            oldest_pending_seconds: z.number().nullable(),
            dead: z.number(),
          }),
          ...authErrors,
        },
      },
    },
    async (request) => {
      await requireOperator(deps, request);
      return withSystemTx(deps.database, async (tx) => {
        const counts = await tx
          .select({ status: stripeEvents.status, n: sql<number>`count(*)::int` })
          .from(stripeEvents)
          .groupBy(stripeEvents.status);
        const [oldest] = await tx
          .select({ at: sql<string | null>`min(${stripeEvents.receivedAt})` })
          .from(stripeEvents)
          .where(eq(stripeEvents.status, 'pending'));
        const by = Object.fromEntries(counts.map((c) => [c.status, Number(c.n)]));
        return {
          by_status: by,
          oldest_pending_seconds: oldest?.at
            ? Math.max(0, (deps.clock.nowMs() - new Date(oldest.at).getTime()) / 1000)
            : null,
          dead: by.dead ?? 0,
        };
      });
    },
  );
}
