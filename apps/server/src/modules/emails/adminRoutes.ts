import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { emails } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { requireOperator } from '../../http/auth/orgAccess.ts';
import { notFound } from '../../http/errors.ts';
import { authErrors, limitQuery } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { EMAIL_TEMPLATES } from './templates.ts';

const STATUSES = ['pending', 'sent', 'failed', 'skipped'] as const;
type Row = typeof emails.$inferSelect;
const view = (e: Row) => ({
  id: e.id,
  org_id: e.orgId,
  cause_key: e.causeKey,
  template: e.template,
  to: e.to,
  subject: e.subject,
  status: e.status,
  attempts: e.attempts,
  last_error: e.lastError,
  message_id: e.messageId,
  sent_at: e.sentAt?.toISOString() ?? null,
  created_at: e.createdAt.toISOString(),
});
const emailView = z.object({
  id: z.string(),
  org_id: z.string().nullable(),
  cause_key: z.string(),
  template: z.string(),
  to: z.array(z.string()),
  subject: z.string(),
  status: z.enum(STATUSES),
  attempts: z.number(),
  last_error: z.string().nullable(),
  message_id: z.string().nullable(),
  sent_at: z.string().nullable(),
  created_at: z.string(),
});

/** Operators: the email outbox, to see what was sent to whom, and what failed or had no recipient. */
export function registerEmailAdminRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/admin/emails',
    {
      schema: {
        tags: ['admin'],
        summary: 'Billing emails (the outbox), newest first, filtered',
        querystring: z
          .object({
            org_id: z.string().max(60).optional(),
            status: z.enum(STATUSES).optional(),
            template: z.enum(EMAIL_TEMPLATES).optional(),
            created_before: z.iso.datetime({ offset: true }).optional(),
            limit: limitQuery(50),
          })
          .strict(),
        response: { 200: z.object({ data: z.array(emailView), has_more: z.boolean() }), ...authErrors },
      },
    },
    async (request) => {
      await requireOperator(deps, request);
      const q = request.query;
      const where: SQL[] = [];
      if (q.org_id) where.push(eq(emails.orgId, q.org_id));
      if (q.status) where.push(eq(emails.status, q.status));
      if (q.template) where.push(eq(emails.template, q.template));
      if (q.created_before) where.push(lt(emails.createdAt, new Date(q.created_before)));
      const rows = await withSystemTx(deps.database, (tx) =>
        tx
          .select()
          .from(emails)
          .where(where.length ? and(...where) : undefined)
          .orderBy(desc(emails.createdAt), desc(emails.id))
          .limit(q.limit + 1),
      );
      return { data: rows.slice(0, q.limit).map(view), has_more: rows.length > q.limit };
    },
  );

  app.get(
    '/v1/admin/emails/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'One email with its text and HTML bodies',
        params: z.object({ id: z.string().regex(/^eml_[0-9a-f]{24}$/, 'must be an email id (eml_...)') }),
        response: {
          200: emailView.extend({ text: z.string(), html: z.string().nullable(), data: z.unknown() }),
          ...authErrors,
        },
      },
    },
    async (request) => {
      await requireOperator(deps, request);
      const [row] = await withSystemTx(deps.database, (tx) =>
        tx.select().from(emails).where(eq(emails.id, request.params.id)),
      );
      if (!row) throw notFound('email');
      return { ...view(row), text: row.text, html: row.html, data: row.data };
    },
  );
}
