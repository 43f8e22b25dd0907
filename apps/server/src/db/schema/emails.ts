import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true });

/**
 * The email outbox: one row per email caused by something (a failed payment, a recovery, ...),
 * written in the transaction of its cause (unique `cause_key`: once per cause), sent by a job.
 */
export const emails = pgTable(
  'emails',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id'),
    causeKey: text('cause_key').notNull(),
    template: text('template').notNull(),
    to: jsonb('to').$type<string[]>().notNull(),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    html: text('html'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    status: text('status', { enum: ['pending', 'sent', 'failed', 'skipped'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    messageId: text('message_id'),
    sentAt: ts('sent_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('emails_cause_key').on(t.causeKey), index('emails_org_idx').on(t.orgId, t.createdAt)],
);
