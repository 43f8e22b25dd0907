import { z } from 'zod';
import { withOrgTx, withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { requireOperator, requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, isoDate, limitQuery, orgIdParam } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { listAuditLog } from './listAuditLog.ts';

const entryView = z
  .object({
    id: z.number(),
    org_id: z.string().nullable(),
    actor_type: z.string(),
    actor_id: z.string().nullable(),
    action: z.string(),
    target_type: z.string().nullable(),
    target_id: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    request_id: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'AuditEntry' });
const page = z.object({
  data: z.array(entryView),
  has_more: z.boolean(),
  next_cursor: z.number().nullable(),
});

const filters = {
  action: z.string().max(100).optional(),
  actor_type: z.enum(['user', 'api_key', 'platform', 'system', 'stripe_event']).optional(),
  actor_id: z.string().max(100).optional(),
  target_id: z.string().max(100).optional(),
  since: isoDate.optional(),
  until: isoDate.optional(),
  cursor: z.coerce.number().int().positive().optional(),
  limit: limitQuery(50),
};

const filterObject = z.object(filters);
type Q = z.output<typeof filterObject>;
const toFilter = (q: Q, orgId?: string) => ({
  orgId,
  action: q.action,
  actorType: q.actor_type,
  actorId: q.actor_id,
  targetId: q.target_id,
  since: q.since ? new Date(q.since) : undefined,
  until: q.until ? new Date(q.until) : undefined,
  before: q.cursor,
  limit: q.limit,
});

function present(r: Awaited<ReturnType<typeof listAuditLog>>) {
  return {
    data: r.data.map((e) => ({
      id: e.id,
      org_id: e.orgId,
      actor_type: e.actorType,
      actor_id: e.actorId,
      action: e.action,
      target_type: e.targetType,
      target_id: e.targetId,
      before: e.before,
      after: e.after,
      request_id: e.requestId,
      created_at: e.createdAt.toISOString(),
    })),
    has_more: r.hasMore,
    next_cursor: r.nextCursor,
  };
}

export function registerAuditRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/orgs/:org/audit-log',
    {
      schema: {
        tags: ['audit'],
        summary: "The org's audit log, newest first (admin)",
        params: z.object({ org: orgIdParam }),
        querystring: z.object(filters).strict(),
        response: { 200: page, ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const r = await withOrgTx(deps.database, ctx.orgId, (tx) =>
        listAuditLog(tx, toFilter(request.query, ctx.orgId)),
      );
      return present(r);
    },
  );

  app.get(
    '/v1/admin/audit-log',
    {
      schema: {
        tags: ['admin'],
        summary: 'Every audit entry, newest first (platform operators)',
        querystring: z.object({ ...filters, org_id: z.string().max(100).optional() }).strict(),
        response: { 200: page, ...authErrors },
      },
    },
    async (request) => {
      await requireOperator(deps, request);
      const r = await withSystemTx(deps.database, (tx) =>
        listAuditLog(tx, toFilter(request.query, request.query.org_id)),
      );
      return present(r);
    },
  );
}
